package judge

// Envoy's documented matching semantics for the pieces of generated configuration the
// judge reads: string, header, path, query and metadata matchers. Anything the judge does
// not know how to evaluate is an error, never a guess.

import (
	"fmt"
	"regexp"
	"strings"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// request is what a proxy knows about one HTTP request (or TCP connection) when it matches.
type request struct {
	method    string
	path      string // with its query string, as :path carries it
	authority string
	headers   map[string]string // lower-case names
	principal string            // the peer's SPIFFE URI under mTLS; "" in plaintext
	destPort  uint32
	sni       string
	jwt       map[string]any // the verified token's payload; nil without a token
}

func (r *request) pathOnly() string {
	p, _, _ := strings.Cut(r.path, "?")
	return p
}

func (r *request) query() map[string]string {
	out := map[string]string{}
	_, q, found := strings.Cut(r.path, "?")
	if !found {
		return out
	}
	for _, pair := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}

func (r *request) header(name string) (string, bool) {
	switch strings.ToLower(name) {
	case ":method":
		return r.method, true
	case ":path":
		return r.path, true
	case ":authority", "host":
		return r.authority, true
	}
	v, ok := r.headers[strings.ToLower(name)]
	return v, ok
}

var regexCache = map[string]*regexp.Regexp{}

// fullMatch: Envoy's safe_regex (RE2, which Go's regexp implements) must match the whole value.
func fullMatch(expr, value string) (bool, error) {
	re, ok := regexCache[expr]
	if !ok {
		var err error
		re, err = regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return false, fmt.Errorf("regex %q: %w", expr, err)
		}
		regexCache[expr] = re
	}
	return re.MatchString(value), nil
}

func stringMatch(m *matcher.StringMatcher, value string) (bool, error) {
	if m == nil {
		return true, nil
	}
	v := value
	fold := func(s string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return fold(v) == fold(p.Exact), nil
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(fold(v), fold(p.Prefix)), nil
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(fold(v), fold(p.Suffix)), nil
	case *matcher.StringMatcher_Contains:
		return strings.Contains(fold(v), fold(p.Contains)), nil
	case *matcher.StringMatcher_SafeRegex:
		return fullMatch(p.SafeRegex.GetRegex(), v)
	}
	return false, fmt.Errorf("string matcher %T is not evaluated by the judge", m.GetMatchPattern())
}

// headerMatch follows Envoy's HeaderMatcher: an absent header fails every value match
// (unless treat_missing_header_as_empty), present_match asks about presence itself, and
// invert_match inverts the outcome.
func headerMatch(h *route.HeaderMatcher, r *request) (bool, error) {
	value, present := r.header(h.GetName())
	if !present && h.GetTreatMissingHeaderAsEmpty() {
		value, present = "", true
	}
	var matched bool
	var err error
	switch p := h.GetHeaderMatchSpecifier().(type) {
	case *route.HeaderMatcher_PresentMatch:
		matched = present == p.PresentMatch
	case nil:
		matched = present
	default:
		if !present {
			matched = false
			break
		}
		switch p := p.(type) {
		case *route.HeaderMatcher_ExactMatch:
			matched = value == p.ExactMatch
		case *route.HeaderMatcher_PrefixMatch:
			matched = strings.HasPrefix(value, p.PrefixMatch)
		case *route.HeaderMatcher_SuffixMatch:
			matched = strings.HasSuffix(value, p.SuffixMatch)
		case *route.HeaderMatcher_ContainsMatch:
			matched = strings.Contains(value, p.ContainsMatch)
		case *route.HeaderMatcher_SafeRegexMatch:
			matched, err = fullMatch(p.SafeRegexMatch.GetRegex(), value)
		case *route.HeaderMatcher_StringMatch:
			matched, err = stringMatch(p.StringMatch, value)
		default:
			return false, fmt.Errorf("header matcher %T is not evaluated by the judge", p)
		}
	}
	if err != nil {
		return false, err
	}
	return matched != h.GetInvertMatch(), nil
}

func queryMatch(q *route.QueryParameterMatcher, r *request) (bool, error) {
	value, present := r.query()[q.GetName()]
	switch p := q.GetQueryParameterMatchSpecifier().(type) {
	case *route.QueryParameterMatcher_PresentMatch:
		return present == p.PresentMatch, nil
	case *route.QueryParameterMatcher_StringMatch:
		if !present {
			return false, nil
		}
		return stringMatch(p.StringMatch, value)
	case nil:
		return present, nil
	}
	return false, fmt.Errorf("query matcher %T is not evaluated by the judge", q.GetQueryParameterMatchSpecifier())
}

// routeMatches is Envoy's RouteMatch: the path specifier (prefix on :path, exact and
// regex on the path without its query), then every header and query parameter matcher.
func routeMatches(m *route.RouteMatch, r *request) (bool, error) {
	caseSensitive := m.GetCaseSensitive() == nil || m.GetCaseSensitive().GetValue()
	fold := func(s string) string {
		if caseSensitive {
			return s
		}
		return strings.ToLower(s)
	}
	var ok bool
	var err error
	switch p := m.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		ok = strings.HasPrefix(fold(r.path), fold(p.Prefix))
	case *route.RouteMatch_Path:
		ok = fold(r.pathOnly()) == fold(p.Path)
	case *route.RouteMatch_SafeRegex:
		ok, err = fullMatch(p.SafeRegex.GetRegex(), r.pathOnly())
	case *route.RouteMatch_PathSeparatedPrefix:
		path, prefix := fold(r.pathOnly()), fold(p.PathSeparatedPrefix)
		ok = path == prefix || strings.HasPrefix(path, prefix+"/")
	default:
		return false, fmt.Errorf("route path specifier %T is not evaluated by the judge", p)
	}
	if err != nil || !ok {
		return false, err
	}
	if m.GetRuntimeFraction() != nil || m.GetGrpc() != nil || m.GetTlsContext() != nil || len(m.GetDynamicMetadata()) > 0 {
		return false, fmt.Errorf("route match %v uses a condition the judge does not evaluate", m)
	}
	for _, h := range m.GetHeaders() {
		if ok, err := headerMatch(h, r); err != nil || !ok {
			return false, err
		}
	}
	for _, q := range m.GetQueryParameters() {
		if ok, err := queryMatch(q, r); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func pathMatch(m *matcher.PathMatcher, r *request) (bool, error) {
	return stringMatch(m.GetPath(), r.pathOnly())
}

// metadataMatch: the request's dynamic metadata is the verified JWT's payload under the
// jwt_authn filter (and nothing else: mesh calls carry no token).
func metadataMatch(m *matcher.MetadataMatcher, r *request) (bool, error) {
	var v any
	if m.GetFilter() == "envoy.filters.http.jwt_authn" && r.jwt != nil {
		v = map[string]any{"payload": r.jwt}
		for _, seg := range m.GetPath() {
			mm, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = mm[seg.GetKey()]
		}
	}
	matched, err := valueMatch(m.GetValue(), v)
	if err != nil {
		return false, err
	}
	return matched != m.GetInvert(), nil
}

func valueMatch(m *matcher.ValueMatcher, v any) (bool, error) {
	switch p := m.GetMatchPattern().(type) {
	case *matcher.ValueMatcher_NullMatch_:
		return v == nil, nil
	case *matcher.ValueMatcher_PresentMatch:
		return (v != nil) == p.PresentMatch, nil
	case *matcher.ValueMatcher_StringMatch:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		return stringMatch(p.StringMatch, s)
	case *matcher.ValueMatcher_BoolMatch:
		b, ok := v.(bool)
		return ok && b == p.BoolMatch, nil
	case *matcher.ValueMatcher_ListMatch:
		items, ok := v.([]any)
		if !ok {
			return false, nil
		}
		for _, item := range items {
			if ok, err := valueMatch(p.ListMatch.GetOneOf(), item); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("value matcher %T is not evaluated by the judge", m.GetMatchPattern())
}
