// Package judge runs Istio's own control plane (istiod's config pipeline, in-process, from
// the pinned istio.io/istio module) on a stack's rendered objects and answers questions
// about traffic from the Envoy configuration it generates: where a request goes and
// whether a caller may make it. meshstack's own readers of Istio are checked against it.
//
// It is built as a test binary (`go test -c`) because Istio's fake discovery server and
// simulation need a *testing.T; TestJudge reads a question file and writes the answers.
package judge
