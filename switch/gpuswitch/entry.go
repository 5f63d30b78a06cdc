package gpuswitch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Entry is one route of the table as POST /gpu-switch/upstreams takes it and the table file keeps it: where the
// route sends requests (dial), the copy that replaces it once ready (next), the release it serves, how its
// readiness is checked and how long a request may wait for it.
type Entry struct {
	// Dial is the copy that serves the route, `host:port`.
	Dial string `json:"dial"`
	// Next is the copy of a blue-green release, `host:port` or empty: it is probed, and the switch makes it the
	// dial (promotes it) once it passes; until then Dial serves.
	Next string `json:"next,omitempty"`
	// Release names the release the route serves, or moves to: Next's while there is one, else Dial's (an
	// image reference or a release key). A new release on the same dial, with no next, is checked again.
	Release string `json:"release"`
	// Readiness is the check that gates traffic to a copy.
	Readiness Readiness `json:"readiness"`
	// Hold bounds the wait of requests while the route is not ready.
	Hold HoldBudget `json:"hold"`
	// Pool names the route whose requests this route also serves: a copy of a service beside its first copy
	// (`stt-8060.2` in the pool `stt-8060`). Empty: the route serves only its own requests.
	Pool string `json:"pool,omitempty"`
	// body is Readiness.BodyBase64 decoded.
	body []byte
}

// Readiness is a route's readiness check: an HTTP request with an expected status, or a TCP connection.
type Readiness struct {
	// Kind is "http" or "tcp" (tcp uses only Port, TimeoutMs, IntervalMs and Passes).
	Kind string `json:"kind"`
	// Port is the copy's port that is checked; 0: the dial's port.
	Port int `json:"port"`
	// Scheme is "http" or "https" (a copy's certificate is not verified, as the proxy does not verify it).
	Scheme string `json:"scheme"`
	// Method is GET, HEAD, POST or PUT.
	Method string `json:"method"`
	// Path starts with "/".
	Path string `json:"path"`
	// Headers are sent with the check (a Host header sets the request's host).
	Headers map[string]string `json:"headers"`
	// BodyBase64 is the check's body, base64 (standard encoding); empty: none.
	BodyBase64 string `json:"bodyBase64"`
	// ExpectStatus lists the statuses that pass; empty: any 2xx.
	ExpectStatus []int `json:"expectStatus"`
	// TimeoutMs bounds one check.
	TimeoutMs int `json:"timeoutMs"`
	// IntervalMs is the time between checks while the route is not ready, or while Next waits.
	IntervalMs int `json:"intervalMs"`
	// Passes is how many checks in a row must pass before a copy gets traffic.
	Passes int `json:"passes"`
}

// HoldBudget bounds the hold of a route's requests.
type HoldBudget struct {
	// Seconds a request may wait in all (holds and sends) before it is answered 503.
	Seconds int `json:"seconds"`
	// Queue is the most requests held at once; one more is answered 503 at once.
	Queue int `json:"queue"`
	// Replay: a request its copy never answered (closed before a response header, or 503) is sent again.
	Replay bool `json:"replay"`
	// ExpectedSeconds is the expected load time of a copy, the basis of Retry-After.
	ExpectedSeconds int `json:"expectedSeconds"`
}

const (
	kindHTTP = "http"
	kindTCP  = "tcp"
	// maxCheckBody bounds a readiness check's body (a second of audio is about 32 KiB).
	maxCheckBody = 1 << 20
)

var (
	routeRE  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	headerRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	methods  = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true}
)

// tcpReadiness is the check of an entry that declares none: the port accepts a connection, once.
var tcpReadiness = Readiness{Kind: kindTCP, TimeoutMs: 2000, IntervalMs: 1000, Passes: 1}

// defaultHold is the hold of an entry object that declares none.
var defaultHold = HoldBudget{Seconds: 10, Queue: 256, Replay: true}

// v1Hold is the hold of a plain-string entry (an older agent's, or an older table file's): the old switch's
// default holdSeconds, and no replay of a request that reached a copy, as reverse_proxy retried only dial errors
// of a request other than a GET.
var v1Hold = HoldBudget{Seconds: 10, Queue: 256, Replay: false}

// decodeEntry reads one entry: an object (missing readiness and hold take the defaults above) or a plain
// `"host:port"` string, the table's format before readiness. It checks the entry and fills its defaults.
func decodeEntry(id string, raw json.RawMessage) (Entry, error) {
	var e Entry
	if len(raw) > 0 && raw[0] == '"' {
		var dial string
		if err := json.Unmarshal(raw, &dial); err != nil {
			return e, fmt.Errorf("route %q: %v", id, err)
		}
		e = Entry{Dial: dial, Readiness: tcpReadiness, Hold: v1Hold}
	} else {
		e = Entry{Readiness: tcpReadiness, Hold: defaultHold}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return e, fmt.Errorf("route %q: %v", id, err)
		}
	}
	return e, e.check(id)
}

// check validates the entry and fills the defaults of an http check (scheme, method, path).
func (e *Entry) check(id string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("route %q: %s", id, fmt.Sprintf(format, args...))
	}
	if !routeRE.MatchString(id) {
		return fmt.Errorf("route %q: not a route id (letters, digits, '_', '.', '-')", id)
	}
	if e.Pool != "" && (!routeRE.MatchString(e.Pool) || e.Pool == id) {
		return bad("pool %q is not the id of another route", e.Pool)
	}
	if err := checkDial(e.Dial); err != nil {
		return bad("dial %v", err)
	}
	if e.Next == e.Dial {
		e.Next = ""
	}
	if e.Next != "" {
		if err := checkDial(e.Next); err != nil {
			return bad("next %v", err)
		}
	}
	if err := e.Readiness.check(); err != nil {
		return bad("readiness.%v", err)
	}
	body, err := base64.StdEncoding.DecodeString(e.Readiness.BodyBase64)
	if err != nil || len(body) > maxCheckBody {
		return bad("readiness.bodyBase64: not base64 of at most %d bytes", maxCheckBody)
	}
	e.body = body
	h := e.Hold
	if h.Seconds < 0 || h.Seconds > 3600 || h.Queue < 0 || h.Queue > 100000 || h.ExpectedSeconds < 0 || h.ExpectedSeconds > 3600 {
		return bad("hold: seconds %d (0..3600), queue %d (0..100000), expectedSeconds %d (0..3600)", h.Seconds, h.Queue, h.ExpectedSeconds)
	}
	return nil
}

func (r *Readiness) check() error {
	if r.Kind != kindHTTP && r.Kind != kindTCP {
		return fmt.Errorf("kind: %q, allowed %q or %q", r.Kind, kindHTTP, kindTCP)
	}
	if r.Port < 0 || r.Port > 65535 {
		return fmt.Errorf("port: %d, allowed 0 (the dial's) or 1..65535", r.Port)
	}
	if r.TimeoutMs < 1 || r.TimeoutMs > 600000 || r.IntervalMs < 10 || r.IntervalMs > 600000 || r.Passes < 1 || r.Passes > 100 {
		return fmt.Errorf("timeoutMs %d (1..600000), intervalMs %d (10..600000), passes %d (1..100)", r.TimeoutMs, r.IntervalMs, r.Passes)
	}
	if r.Kind == kindTCP {
		return nil
	}
	if r.Scheme == "" {
		r.Scheme = "http"
	}
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if r.Path == "" {
		r.Path = "/"
	}
	switch {
	case r.Scheme != "http" && r.Scheme != "https":
		return fmt.Errorf("scheme: %q, allowed \"http\" or \"https\"", r.Scheme)
	case !methods[r.Method]:
		return fmt.Errorf("method: %q, allowed GET, HEAD, POST or PUT", r.Method)
	case !strings.HasPrefix(r.Path, "/") || strings.ContainsAny(r.Path, " \r\n"):
		return fmt.Errorf("path: %q must start with / and have no spaces", r.Path)
	}
	for name, value := range r.Headers {
		if !headerRE.MatchString(name) || strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("headers: %q: not a header name, or a value with a line break", name)
		}
	}
	for _, s := range r.ExpectStatus {
		if s < 100 || s > 599 {
			return fmt.Errorf("expectStatus: %d is not an HTTP status", s)
		}
	}
	return nil
}

// checkDial: `host:port` with a host and a port 1..65535.
func checkDial(dial string) error {
	host, port, err := net.SplitHostPort(dial)
	if err != nil {
		return fmt.Errorf("%q is not host:port", dial)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return fmt.Errorf("%q needs a host and a port 1..65535", dial)
	}
	return nil
}

// passes says whether a check's answer status passes.
func (r *Readiness) passes(status int) bool {
	if len(r.ExpectStatus) == 0 {
		return status >= 200 && status <= 299
	}
	for _, s := range r.ExpectStatus {
		if s == status {
			return true
		}
	}
	return false
}

// target is the address a check of the copy at dial connects to: the dial's host, on the readiness port.
func (r *Readiness) target(dial string) string {
	if r.Port == 0 {
		return dial
	}
	host, _, _ := net.SplitHostPort(dial)
	return net.JoinHostPort(host, strconv.Itoa(r.Port))
}
