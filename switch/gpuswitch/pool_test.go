package gpuswitch

// Pools in process: the hold handler in front of a stand-in for reverse_proxy that answers with the dial the
// ticket chose (or fails to dial it), so that which member got each request is seen exactly. The agent's tests
// (switch/cmd/gpu-switch) drive pools through a real Caddy.

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// members is a stand-in for reverse_proxy behind the hold: it answers 200 with the dial of the request's
// ticket, after `slow` is closed for a request to /slow, and finds no upstream for the dials in `down`.
type members struct {
	mu   sync.Mutex
	got  map[string]int
	down map[string]bool
	slow chan struct{}
}

func (m *members) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	dial := r.Context().Value(dialKey{}).(string)
	m.mu.Lock()
	if m.down[dial] {
		m.mu.Unlock()
		// reverse_proxy's DialError cannot be made outside its package; a real one is the agent tests'.
		return caddyhttp.Error(http.StatusBadGateway, errors.New("no upstreams available"))
	}
	m.got[dial]++
	slow := m.slow
	m.mu.Unlock()
	if r.URL.Path == "/slow" {
		<-slow
	}
	fmt.Fprint(w, dial)
	return nil
}

func (m *members) counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for dial, n := range m.got {
		out[dial] = n
	}
	return out
}

// pooled is tcpEntry with a pool.
func pooled(dial, pool string) string {
	return strings.TrimSuffix(tcpEntry(dial), "}") + fmt.Sprintf(`,"pool":%q}`, pool)
}

func serveVia(h *HoldHandler, next caddyhttp.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader("audio")), next)
	return rec
}

// threeCopies sets stt-8060 and its copies stt-8060.1 and .2, each on a listener of its own, and waits until
// they are ready; it returns their dials by route id.
func threeCopies(t *testing.T) map[string]string {
	t.Helper()
	fresh(t)
	ensureLoaded(zap.NewNop())
	dials := map[string]string{"stt-8060": listen(t), "stt-8060.1": listen(t), "stt-8060.2": listen(t)}
	if w := post(t, `{"routes":{"stt-8060":`+tcpEntry(dials["stt-8060"])+`,"stt-8060.1":`+pooled(dials["stt-8060.1"], "stt-8060")+
		`,"stt-8060.2":`+pooled(dials["stt-8060.2"], "stt-8060")+`}}`); w.Code != 200 {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	for id := range dials {
		waitState(t, id, Ready)
	}
	return dials
}

func TestAPoolSendsEachRequestToTheReadyMemberWithTheFewestInFlightAndEqualOnesTakeTurns(t *testing.T) {
	dials := threeCopies(t)
	m := &members{got: map[string]int{}, slow: make(chan struct{})}
	h := &HoldHandler{Route: "stt-8060", logger: zap.NewNop()}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { serveVia(h, m, "/slow") })
	}
	for i := 0; ; i++ {
		if r, _ := routeOf(t, "stt-8060"); r.InFlight+view().Routes["stt-8060.1"].InFlight+view().Routes["stt-8060.2"].InFlight == 2 {
			break
		}
		if i == 500 {
			t.Fatal("the slow requests are not in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	busy := m.counts()
	if len(busy) != 2 {
		t.Fatalf("two slow requests went to %v, want two members", busy)
	}
	var idle string
	for _, dial := range dials {
		if busy[dial] == 0 {
			idle = dial
		}
	}
	// Two members have a long request each: every short one goes to the third (turns would send it 2 of 6).
	for range 6 {
		if rec := serveVia(h, m, "/short"); rec.Code != 200 || rec.Body.String() != idle {
			t.Fatalf("a short request went to %q (%d), want the idle member %s", rec.Body, rec.Code, idle)
		}
	}
	close(m.slow)
	wg.Wait()
	before := m.counts()
	for range 6 { // none in flight: the members take turns
		serveVia(h, m, "/short")
	}
	after := m.counts()
	for _, dial := range dials {
		if after[dial]-before[dial] != 2 {
			t.Fatalf("6 requests with none in flight: %v before, %v after, want 2 more each", before, after)
		}
	}
	if r, _ := routeOf(t, "stt-8060.1"); r.Pool != "stt-8060" || r.Requests.C2xx != uint64(after[dials["stt-8060.1"]]) {
		t.Fatalf("stt-8060.1 counts its own requests: %+v, %v", r, after)
	}
}

func TestAMemberWhoseTryFailedLeavesThePoolUntilItsCheckPassesAndTheRequestGoesToAnother(t *testing.T) {
	dials := threeCopies(t)
	// stt-8060.1 moves to a copy whose check answers 503 while it is down.
	var down sync.Mutex
	isDown := true
	checked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		down.Lock()
		defer down.Unlock()
		if isDown {
			w.WriteHeader(503)
		}
	}))
	t.Cleanup(checked.Close)
	gone := strings.TrimPrefix(checked.URL, "http://")
	m := &members{got: map[string]int{}, down: map[string]bool{}, slow: make(chan struct{})}
	h := &HoldHandler{Route: "stt-8060", logger: zap.NewNop()}
	down.Lock()
	isDown = false
	down.Unlock()
	post(t, `{"routes":{"stt-8060.1":`+strings.TrimSuffix(httpEntry(gone, "", 1), "}")+`,"pool":"stt-8060"}}}`)
	waitState(t, "stt-8060.1", Ready)
	down.Lock()
	isDown = true
	down.Unlock()
	m.down[gone] = true
	for range 6 {
		if rec := serveVia(h, m, "/short"); rec.Code != 200 || rec.Body.String() == gone {
			t.Fatalf("answer %d %q", rec.Code, rec.Body)
		}
	}
	if r, _ := routeOf(t, "stt-8060.1"); r.State != Loading || r.Replayed != 1 || r.Requests != (StatusClasses{}) {
		t.Fatalf("the member that failed: %+v", r)
	}
	if c := m.counts(); c[dials["stt-8060"]]+c[dials["stt-8060.2"]] != 6 || c[dials["stt-8060"]] == 0 || c[dials["stt-8060.2"]] == 0 {
		t.Fatalf("answers per member: %v", c)
	}
	// Its check passes again: it rejoins.
	down.Lock()
	isDown = false
	down.Unlock()
	m.mu.Lock()
	delete(m.down, gone)
	m.mu.Unlock()
	waitState(t, "stt-8060.1", Ready)
	for range 3 {
		serveVia(h, m, "/short")
	}
	if m.counts()[gone] != 1 {
		t.Fatalf("the member that came back gets its turn: %v", m.counts())
	}
}

func TestARequestHeldForAPoolIsLetGoWhenAnyMemberIsReady(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	late := &scripted{statuses: []int{503, 503, 503, 503, 503, 200}}
	lateDial := late.serve(t)
	if w := post(t, `{"routes":{"stt-8060":`+tcpEntry("127.0.0.1:1")+`,"stt-8060.2":`+
		strings.TrimSuffix(httpEntry(lateDial, "", 1), "}")+`,"pool":"stt-8060"}}}`); w.Code != 200 {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	m := &members{got: map[string]int{}, slow: make(chan struct{})}
	h := &HoldHandler{Route: "stt-8060", logger: zap.NewNop()}
	started := time.Now()
	rec := serveVia(h, m, "/short")
	if rec.Code != 200 || rec.Body.String() != lateDial || time.Since(started) < 80*time.Millisecond {
		t.Fatalf("the held request got %d %q after %v", rec.Code, rec.Body, time.Since(started))
	}
	head, _ := routeOf(t, "stt-8060")
	member, _ := routeOf(t, "stt-8060.2")
	if head.State != Loading || head.Held != 1 || head.Holding != 0 || member.Held != 0 || member.Requests.C2xx != 1 {
		t.Fatalf("the pool's route holds and the member answers: %+v\n%+v", head, member)
	}
}

func TestAPoolMustNameAnotherRouteAndTheTableAnswersIt(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	for body, want := range map[string]string{
		`{"routes":{"stt-8060.1":{"dial":"a:1","pool":"stt-8060.1"}}}`: `route "stt-8060.1": pool "stt-8060.1" is not the id of another route`,
		`{"routes":{"stt-8060.1":{"dial":"a:1","pool":"../x"}}}`:       `route "stt-8060.1": pool "../x" is not the id of another route`,
	} {
		if w := post(t, body); w.Code != 400 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, w.Code, w.Body, want)
		}
	}
	post(t, `{"routes":{"stt-8060":"a:1","stt-8060.1":{"dial":"b:1","pool":"stt-8060"}}}`)
	w := call(t, Admin{}.handle, http.MethodGet, AdminPath, "")
	for _, want := range []string{`"stt-8060.1":{"dial":"b:1","next":null,"state":"loading","release":"","pool":"stt-8060",`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Fatalf("GET answers %s, want %s", w.Body, want)
		}
	}
	if strings.Count(w.Body.String(), `"pool"`) != 1 {
		t.Fatalf("a route without a pool answers one: %s", w.Body)
	}
	f := scrape(t)
	labels := map[string]string{"service": "stt", "route": "stt-8060"}
	equal(t, "members", value(t, f, "gpu_switch_pool_members", labels), 2.0)
	equal(t, "ready", value(t, f, "gpu_switch_pool_members_ready", labels), 0.0)
	equal(t, "a copy's service", value(t, f, "gpu_switch_route_state", map[string]string{"service": "stt", "route": "stt-8060.1", "state": "loading"}), 1.0)
}

func TestTheServiceOfACopysRouteIsItsServices(t *testing.T) {
	for id, want := range map[string]string{"stt-8060.2": "stt", "my-tts-8055.12": "my-tts", "a.1": "a.1", "stt-8060.x": "stt-8060.x"} {
		equal(t, id, ServiceOf(id), want)
	}
}
