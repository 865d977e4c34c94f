//go:build tools

// Package apiserver pins the Kubernetes commands the e2e tests build.
package apiserver

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
