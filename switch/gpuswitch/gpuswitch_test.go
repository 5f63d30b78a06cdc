package gpuswitch

// The route table, its admin handler and its prober in process (the agent's tests drive them in a real Caddy,
// with the hold handler in front of reverse_proxy).

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// fresh points Caddy's config folder at a new temporary folder and forgets the table, as a new process would.
func fresh(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	forget()
	t.Cleanup(forget)
	return filepath.Join(dir, "caddy", TableFile)
}

// forget stops every prober and empties the table, as the end of a process would.
func forget() {
	table.mu.Lock()
	defer table.mu.Unlock()
	for _, rt := range table.routes {
		rt.remove()
	}
	table.loaded, table.routes, table.path = false, nil, ""
}

func post(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	return call(t, Admin{}.handle, http.MethodPost, AdminPath, body)
}

func call(t *testing.T, handler func(http.ResponseWriter, *http.Request) error, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if err := handler(w, httptest.NewRequest(method, path, strings.NewReader(body))); err != nil {
		apiErr := err.(caddy.APIError)
		w.Code = apiErr.HTTPStatus
		w.Body.WriteString(apiErr.Err.Error())
	}
	return w
}

func routeOf(t *testing.T, id string) (RouteView, bool) {
	t.Helper()
	r, ok := view().Routes[id]
	return r, ok
}

// tcpEntry is an entry whose readiness is a TCP connection, checked every 10 ms.
func tcpEntry(dial string) string {
	return fmt.Sprintf(`{"dial":%q,"release":"r1","readiness":{"kind":"tcp","timeoutMs":500,"intervalMs":10,"passes":1},`+
		`"hold":{"seconds":5,"queue":8,"replay":true,"expectedSeconds":30}}`, dial)
}

// waitState waits up to 5 s for the route's state.
func waitState(t *testing.T, id string, want State) RouteView {
	t.Helper()
	for i := 0; ; i++ {
		r, _ := routeOf(t, id)
		if r.State == want {
			return r
		}
		if i == 500 {
			t.Fatalf("route %s is %s (%s), want %s", id, r.State, r.LastFailure, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSeveralRoutesAreSetAtOnceAndPersistedThenReadBackLoading(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	web, tts := listen(t), listen(t)
	if w := post(t, `{"routes":{"web-8000":`+tcpEntry(web)+`,"tts-8055":`+tcpEntry(tts)+`}}`); w.Code != 200 {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	waitState(t, "web-8000", Ready)
	// A release of web and a removal of tts, in one request.
	w := post(t, `{"routes":{"web-8000":`+strings.Replace(tcpEntry(web), `"r1"`, `"r2"`, 1)+`,"tts-8055":null}}`)
	var answer tableView
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &answer) != nil || len(answer.Routes) != 1 || answer.Routes["web-8000"].Release != "r2" {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if _, ok := routeOf(t, "tts-8055"); ok {
		t.Fatal("tts-8055 was not removed")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != 2 || len(doc.Routes) != 1 || doc.Routes["web-8000"].Dial != web ||
		doc.Routes["web-8000"].Readiness.Kind != "tcp" || doc.Routes["web-8000"].Hold.Seconds != 5 {
		t.Fatalf("the file holds %s (%v)", data, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*.tmp")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
	// A new process reads it back, and checks the route before it serves.
	forget()
	ensureLoaded(zap.NewNop())
	r, _ := routeOf(t, "web-8000")
	if r.Dial != web || r.Release != "r2" || r.State != Loading {
		t.Fatalf("after a restart: %+v", r)
	}
	waitState(t, "web-8000", Ready)
}

func TestAnOldFileOfPlainDialsIsReadAsTCPEntries(t *testing.T) {
	file := fresh(t)
	web := listen(t)
	os.MkdirAll(filepath.Dir(file), 0o700)
	os.WriteFile(file, []byte(`{"routes":{"web-8000":"`+web+`"}}`), 0o600)
	ensureLoaded(zap.NewNop())
	r, ok := routeOf(t, "web-8000")
	if !ok || r.State != Loading || r.Dial != web || r.Next != nil {
		t.Fatalf("web-8000: %+v", r)
	}
	equal(t, "readiness", r.Readiness, tcpReadiness)
	equal(t, "hold", r.Hold, HoldBudget{Seconds: 10, Queue: 256, Replay: false})
	waitState(t, "web-8000", Ready)
	// An older agent's POST of a plain dial is taken the same way.
	if w := post(t, `{"routes":{"api-9000":"`+web+`"}}`); w.Code != 200 {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if r, _ := routeOf(t, "api-9000"); r.Readiness.Kind != "tcp" || r.Hold.Replay {
		t.Fatalf("api-9000: %+v", r)
	}
}

func TestABadEntryChangesNothing(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"web-8000":"web-1:8000"}}`)
	before, _ := os.ReadFile(file)
	entry := func(readiness, hold string) string {
		return `{"routes":{"web-8000":"web-2:8000","api-9000":{"dial":"api:9000","release":"r","readiness":` + readiness + `,"hold":` + hold + `}}}`
	}
	okHold := `{"seconds":1,"queue":1,"replay":true,"expectedSeconds":0}`
	okCheck := `{"kind":"http","timeoutMs":1,"intervalMs":10,"passes":1`
	for body, want := range map[string]string{
		`{"routes":{"web-8000":"web-2:8000","api-9000":"no-port"}}`:             `route "api-9000": dial "no-port" is not host:port`,
		`{"routes":{"web-8000":"web-2:8000","api-9000":"api:0"}}`:               `dial "api:0" needs a host and a port 1..65535`,
		`{"routes":{"../x":"a:1"}}`:                                             `route "../x": not a route id`,
		`{"routes":{"../x":null}}`:                                              `route "../x": not a route id`,
		`{"routes":{"x":{"dial":"a:1","next":"b"}}}`:                            `route "x": next "b" is not host:port`,
		`{"routes":{"x":{"dial":"a:1","color":"blue"}}}`:                        `route "x": json: unknown field "color"`,
		entry(`{"kind":"grpc"}`, okHold):                                        `route "api-9000": readiness.kind: "grpc", allowed "http" or "tcp"`,
		entry(okCheck+`,"method":"DELETE"}`, okHold):                            `readiness.method: "DELETE", allowed GET, HEAD, POST or PUT`,
		entry(okCheck+`,"path":"health"}`, okHold):                              `readiness.path: "health" must start with /`,
		entry(okCheck+`,"headers":{"X A":"1"}}`, okHold):                        `readiness.headers: "X A": not a header name`,
		entry(okCheck+`,"expectStatus":[42]}`, okHold):                          `readiness.expectStatus: 42 is not an HTTP status`,
		entry(okCheck+`,"bodyBase64":"%%%"}`, okHold):                           `readiness.bodyBase64: not base64`,
		entry(`{"kind":"tcp","timeoutMs":0,"intervalMs":1,"passes":0}`, okHold): `readiness.timeoutMs 0 (1..600000), intervalMs 1 (10..600000), passes 0 (1..100)`,
		entry(okCheck+`}`, `{"seconds":-1,"queue":1}`):                          `hold: seconds -1 (0..3600)`,
		`{"web-8000":"web-2:8000"}`:                                             `unknown field "web-8000"`,
		`{}`:                                                                    `want {"routes"`,
		`not json`:                                                              `invalid character`,
	} {
		w := post(t, body)
		if w.Code != 400 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, w.Code, w.Body, want)
		}
	}
	after, _ := os.ReadFile(file)
	if r, _ := routeOf(t, "web-8000"); r.Dial != "web-1:8000" || string(before) != string(after) || len(view().Routes) != 1 {
		t.Fatalf("a refused update changed the table: %v, %s", view(), after)
	}
}

func TestAFileThatCannotBeWrittenChangesNothing(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"web-8000":"web-1:8000"}}`)
	// The table's folder becomes a file: nothing can be written there, not even by root.
	blocker := filepath.Join(filepath.Dir(file), "blocker")
	os.WriteFile(blocker, nil, 0o600)
	table.mu.Lock()
	table.path = filepath.Join(blocker, TableFile)
	table.mu.Unlock()
	if w := post(t, `{"routes":{"web-8000":"web-2:8000"}}`); w.Code != 500 || !strings.Contains(w.Body.String(), "not changed") {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if r, _ := routeOf(t, "web-8000"); r.Dial != "web-1:8000" {
		t.Fatalf("the table changed: %v", view())
	}
}

func TestAnUnreadableFileIsSetAsideAndTheTableStartsEmpty(t *testing.T) {
	file := fresh(t)
	os.MkdirAll(filepath.Dir(file), 0o700)
	os.WriteFile(file, []byte(`{"routes":{"web-8000":`), 0o600)
	ensureLoaded(zap.NewNop())
	if len(view().Routes) != 0 {
		t.Fatalf("table %v", view())
	}
	if _, err := os.Stat(file + ".bad"); err != nil {
		t.Fatalf("not set aside: %v", err)
	}
	if w := post(t, `{"routes":{"web-8000":"web-1:8000"}}`); w.Code != 200 {
		t.Fatalf("POST after a bad file: %d %s", w.Code, w.Body)
	}
}

func TestGetAnswersEntriesAndStateAndMethodsAreChecked(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"web-8000":{"dial":"10.0.0.2:8000","next":"10.0.0.3:8000","release":"img@sha256:1",`+
		`"readiness":{"kind":"http","port":8001,"method":"POST","path":"/ready?deep=1","headers":{"X-Probe":"1"},"bodyBase64":"aGk=",`+
		`"expectStatus":[200,204],"timeoutMs":1000,"intervalMs":60000,"passes":2},"hold":{"seconds":90,"queue":256,"replay":false,"expectedSeconds":60}}}}`)
	w := call(t, Admin{}.handle, http.MethodGet, AdminPath, "")
	var got map[string]map[string]map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	r := got["routes"]["web-8000"]
	delete(r, "since")
	delete(r, "lastFailure") // the checks of unreachable 10.0.0.x may or may not have ended yet
	equal(t, "GET", r, map[string]any{
		"dial": "10.0.0.2:8000", "next": "10.0.0.3:8000", "state": "loading", "release": "img@sha256:1",
		"requests": map[string]any{"1xx": 0.0, "2xx": 0.0, "3xx": 0.0, "4xx": 0.0, "5xx": 0.0},
		"held":     0.0, "shed": 0.0, "replayed": 0.0, "inflight": 0.0, "holding": 0.0, "inflightDials": map[string]any{},
		"passes": 0.0, "nextPasses": 0.0,
		"readiness": map[string]any{"kind": "http", "port": 8001.0, "scheme": "http", "method": "POST", "path": "/ready?deep=1",
			"headers": map[string]any{"X-Probe": "1"}, "bodyBase64": "aGk=", "expectStatus": []any{200.0, 204.0},
			"timeoutMs": 1000.0, "intervalMs": 60000.0, "passes": 2.0},
		"hold": map[string]any{"seconds": 90.0, "queue": 256.0, "replay": false, "expectedSeconds": 60.0},
	})
	if w := call(t, Admin{}.handle, http.MethodDelete, AdminPath, ""); w.Code != 405 {
		t.Fatalf("DELETE: %d", w.Code)
	}
	if w := call(t, Admin{}.handleDrain, http.MethodGet, DrainPath, ""); w.Code != 405 {
		t.Fatalf("GET drain: %d", w.Code)
	}
	if err := (&Upstreams{Route: "bad route"}).Provision(caddy.Context{}); err == nil {
		t.Fatal("a bad route id was provisioned")
	}
	if err := (&HoldHandler{Route: ""}).Provision(caddy.Context{}); err == nil {
		t.Fatal("a hold without a route was provisioned")
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// listen accepts TCP connections on 127.0.0.1 until the test ends; it returns the address.
func listen(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

// scripted answers readiness checks with the statuses given, in order (the last one from then on), and keeps
// what each check sent.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	checks   []string
}

func (s *scripted) serve(t *testing.T) string {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.checks = append(s.checks, fmt.Sprintf("%s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Probe"), body))
		status := s.statuses[min(len(s.checks), len(s.statuses))-1]
		w.WriteHeader(status)
	}))
	t.Cleanup(server.Close)
	return strings.TrimPrefix(server.URL, "http://")
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.checks)
}

func httpEntry(dial, next string, passes int) string {
	n := ""
	if next != "" {
		n = fmt.Sprintf(`"next":%q,`, next)
	}
	return fmt.Sprintf(`{"dial":%q,%s"release":"r1","readiness":{"kind":"http","method":"POST","path":"/ready?x=1",`+
		`"headers":{"X-Probe":"yes"},"bodyBase64":"aGk=","expectStatus":[200,204],"timeoutMs":1000,"intervalMs":20,"passes":%d},`+
		`"hold":{"seconds":5,"queue":8,"replay":true,"expectedSeconds":30}}`, dial, n, passes)
}

func TestARouteIsReadyAfterItsChecksPassedInARowAndThenNotCheckedAgain(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	copy := &scripted{statuses: []int{503, 204, 500, 200, 200, 200}}
	dial := copy.serve(t)
	post(t, `{"routes":{"stt-8060":`+httpEntry(dial, "", 3)+`}}`)
	waitState(t, "stt-8060", Ready)
	// 503 and 500 broke the runs: ready only after 200 200 200, the 6th check.
	checks := copy.count()
	if checks != 6 {
		t.Fatalf("ready after %d checks, want 6", checks)
	}
	time.Sleep(200 * time.Millisecond) // ten intervals
	if copy.count() != checks {
		t.Fatalf("a ready route was checked again: %d checks", copy.count())
	}
	copy.mu.Lock()
	defer copy.mu.Unlock()
	if copy.checks[0] != "POST /ready?x=1 yes hi" {
		t.Fatalf("the check sent %q", copy.checks[0])
	}
}

func TestANextCopyIsPromotedOnlyAfterItPassedAndThePromotionIsPersisted(t *testing.T) {
	file := fresh(t)
	ensureLoaded(zap.NewNop())
	blue := &scripted{statuses: []int{200}}
	green := &scripted{statuses: []int{503, 503, 503, 200, 200}}
	blueDial, greenDial := blue.serve(t), green.serve(t)
	post(t, `{"routes":{"web-8000":`+httpEntry(blueDial, "", 1)+`}}`)
	waitState(t, "web-8000", Ready)
	post(t, `{"routes":{"web-8000":`+httpEntry(blueDial, greenDial, 2)+`}}`)
	for i := 0; ; i++ {
		r, _ := routeOf(t, "web-8000")
		if r.Dial == greenDial {
			if n := green.count(); n != 5 || r.State != Ready || r.Next != nil {
				t.Fatalf("promoted after %d checks of next (want 5: 503 503 503 200 200): %+v", n, r)
			}
			break
		}
		if r.State != Ready || r.Dial != blueDial {
			t.Fatalf("the route left blue before green was ready: %+v", r)
		}
		if i == 500 {
			t.Fatalf("never promoted: %+v", r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; ; i++ { // the file is written just after the promotion
		data, _ := os.ReadFile(file)
		if strings.Contains(string(data), `"dial": "`+greenDial+`"`) && !strings.Contains(string(data), `"next"`) {
			break
		}
		if i == 100 {
			t.Fatalf("the promotion is not in the file: %s", data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestADrainedRouteIsNotCheckedUntilSetAgainOrItsTimeIsUp(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	copy := &scripted{statuses: []int{200}}
	dial := copy.serve(t)
	post(t, `{"routes":{"stt-8060":`+httpEntry(dial, "", 1)+`}}`)
	waitState(t, "stt-8060", Ready)
	w := call(t, Admin{}.handleDrain, http.MethodPost, DrainPath, `{"routes":["stt-8060","new-1"],"timeoutSeconds":1,"drainedSeconds":1}`)
	var answer drainAnswer
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &answer) != nil || answer.TimedOut || answer.Routes["stt-8060"].Inflight != 0 ||
		len(answer.Unknown) != 1 || answer.Unknown[0] != "new-1" {
		t.Fatalf("drain: %d %s", w.Code, w.Body)
	}
	checks := copy.count()
	if r, _ := routeOf(t, "stt-8060"); r.State != Drained || r.DrainedUntil == nil {
		t.Fatalf("after the drain: %+v", r)
	}
	time.Sleep(500 * time.Millisecond)
	if copy.count() != checks {
		t.Fatal("a drained route was checked")
	}
	waitState(t, "stt-8060", Ready) // drainedSeconds passed: checked again, and it answers
	// A push sets it again: checked at once.
	call(t, Admin{}.handleDrain, http.MethodPost, DrainPath, `{"routes":["stt-8060"],"timeoutSeconds":0,"drainedSeconds":600}`)
	post(t, `{"routes":{"stt-8060":`+strings.Replace(httpEntry(dial, "", 1), `"r1"`, `"r2"`, 1)+`}}`)
	waitState(t, "stt-8060", Ready)
	for body, want := range map[string]string{
		`{"routes":["a b"]}`:                `route "a b": not a route id`,
		`{"routes":[],"timeoutSeconds":-1}`: `timeoutSeconds -1 (0..3600)`,
		`{}`:                                `want {"routes"`,
	} {
		if w := call(t, Admin{}.handleDrain, http.MethodPost, DrainPath, body); w.Code != 400 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, w.Code, w.Body, want)
		}
	}
}

func TestAnInterceptorKeepsA503FromTheClientAndPassesAnythingElse(t *testing.T) {
	base := http.Header{"Server": {"Caddy"}}
	rec := httptest.NewRecorder()
	i := newInterceptor(rec, base, true)
	i.Header().Set("X-From", "loading copy")
	i.WriteHeader(http.StatusServiceUnavailable)
	i.Write([]byte("loading"))
	i.Flush()
	if !i.swallowed || i.committed || rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("X-From") != "" || rec.Flushed {
		t.Fatalf("a 503 reached the client: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	i = newInterceptor(rec, base, true)
	i.Header().Set("X-From", "ready copy")
	i.WriteHeader(http.StatusOK)
	i.Write([]byte("text"))
	if !i.committed || rec.Code != 200 || rec.Body.String() != "text" || rec.Header().Get("X-From") != "ready copy" || rec.Header().Get("Server") != "Caddy" {
		t.Fatalf("the answer: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = httptest.NewRecorder()
	i = newInterceptor(rec, base, false) // no replay: the 503 is the answer
	i.WriteHeader(http.StatusServiceUnavailable)
	if !i.committed || rec.Code != 503 {
		t.Fatalf("a 503 without replay was kept: %d", rec.Code)
	}
}
