package rule_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/ferryproxy/ferry/router/rule"
)

func ExampleCompile() {
	r, err := rule.Compile("Host(`Example.com`) && (PathPrefix(`/api`) || Method(`POST`))")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
	fmt.Println(r.Hosts())

	for _, target := range []string{"http://example.com:8080/api/users", "http://example.com/web", "http://other.com/api"} {
		req := httptest.NewRequest("GET", target, nil)
		fmt.Println(target, r.Match(&rule.Request{HTTP: req, Host: rule.NormalizeHost(req.Host)}))
	}

	_, err = rule.Compile("Hots(`example.com`)")
	fmt.Println(err)
	// Output:
	// Host(`Example.com`) && (PathPrefix(`/api`) || Method(`POST`))
	// [example.com]
	// http://example.com:8080/api/users true
	// http://example.com/web false
	// http://other.com/api false
	// rule: at position 0: unknown matcher "Hots" in rule syntax v3 (did you mean Host?)
}
