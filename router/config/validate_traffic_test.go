package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateTraffic(t *testing.T) {
	tests := []struct {
		name string
		m    Middleware
		want []string // problems, as Problem.Error prints them; none for a valid middleware
	}{
		{"rate limit ok", Middleware{RateLimit: &RateLimit{Average: 10, Period: Duration(time.Minute), Burst: 20,
			SourceCriterion: &SourceCriterion{IPStrategy: &IPStrategy{Depth: 1, ExcludedIPs: []string{"10.0.0.0/8", "::1"}}}}}, nil},
		{"rate limit without average", Middleware{RateLimit: &RateLimit{Period: Duration(time.Second), Burst: -1}}, []string{
			"middleware m: rateLimit.average: must be a positive number of requests per period, got 0",
			"middleware m: rateLimit.burst: negative burst -1"}},
		{"exclusive criteria", Middleware{RateLimit: &RateLimit{Average: 1, SourceCriterion: &SourceCriterion{RequestHost: true, RequestHeaderName: "X-Key"}}}, []string{
			"middleware m: rateLimit.sourceCriterion: ipStrategy, requestHeaderName and requestHost are exclusive, 2 are set"}},
		{"in flight", Middleware{InFlightReq: &InFlightReq{SourceCriterion: &SourceCriterion{IPStrategy: &IPStrategy{Depth: -2}}}}, []string{
			"middleware m: inFlightReq.amount: must be a positive number of requests, got 0",
			"middleware m: inFlightReq.sourceCriterion.ipStrategy.depth: negative depth -2"}},
		{"bad CIDR", Middleware{IPAllowList: &IPAllowList{SourceRange: []string{"10.0.0.0/8", "10.0.0.0/40", "300.1.1.1"}}}, []string{
			`middleware m: ipAllowList.sourceRange[1]: invalid CIDR "10.0.0.0/40"`,
			`middleware m: ipAllowList.sourceRange[2]: invalid IP "300.1.1.1"`}},
		{"empty allow list", Middleware{IPAllowList: &IPAllowList{}}, []string{"middleware m: ipAllowList.sourceRange: empty: list the IPs and CIDRs allowed"}},
		{"buffering", Middleware{Buffering: &Buffering{MaxRequestBodyBytes: -1, RetryExpression: "IsNetworkError() && Attempts() <= 2"}}, []string{
			"middleware m: buffering.maxRequestBodyBytes: negative size -1"}},
		{"retry", Middleware{Retry: &Retry{Attempts: 0, Status: []string{"500-599", "5xx", "600"}}}, []string{
			"middleware m: retry.attempts: must be a positive number of tries, got 0",
			`middleware m: retry.status[1]: invalid status or range "5xx" (want e.g. 503 or 500-599)`,
			`middleware m: retry.status[2]: invalid status or range "600" (want e.g. 503 or 500-599)`}},
		{"breaker ok", Middleware{CircuitBreaker: &CircuitBreaker{Expression: "NetworkErrorRatio() > 0.5 || (ResponseCodeRatio(500, 600, 0, 600) > 0.25 && LatencyAtQuantileMS(50.0) > 100)"}}, nil},
		{"breaker typo", Middleware{CircuitBreaker: &CircuitBreaker{Expression: "NetworkErrorRatio > 0.5", CheckPeriod: Duration(-time.Second)}}, []string{
			"middleware m: circuitBreaker.checkPeriod: negative duration -1s",
			`middleware m: circuitBreaker.expression: invalid expression "NetworkErrorRatio > 0.5": unknown name NetworkErrorRatio (call functions with parentheses)`}},
		{"breaker arity", Middleware{CircuitBreaker: &CircuitBreaker{Expression: "ResponseCodeRatio(500, 600) > 0.5"}}, []string{
			`middleware m: circuitBreaker.expression: invalid expression "ResponseCodeRatio(500, 600) > 0.5": ResponseCodeRatio() takes 4 arguments, got 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"m": &tt.m}}}
			var got []string
			for _, p := range Validate(cfg) {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
