package e2e

import (
	"fmt"
	"testing"
)

func TestEtcdPropagation(t *testing.T) {
	t.Parallel()
	e := StartEtcd(t)
	a := StartBackend(t, "a", nil)
	f := StartFerryWith(t, etcdProviders(e.Addr))
	f.storePropagation("etcd", propagationTrials, func(i int) string {
		name := fmt.Sprintf("prop-%d", i)
		e.Put(etcdRoute(name, name+".etcd.test", a.URL)...)
		return name + ".etcd.test"
	})
}
