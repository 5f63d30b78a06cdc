package main

// Version 2 plans against the real Caddy: readiness, the hold in front of reverse_proxy, sheds, replays,
// promotion, drains and restarts. The copies are fakeCopy servers on 127.0.0.x that load (503, or refused
// connections), crash (close a request's connection without an answer), and record what reached them.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCopy is a service container's copy: GET /health answers `health`; any other request is recorded and
// answered `answer` (200: "release <name>, METHOD, N bytes" after `delay`, or at once with an X-Fast header).
type fakeCopy struct {
	t    *testing.T
	ip   string
	name string
	port int

	mu     sync.Mutex
	health int
	answer int
	delay  time.Duration
	// crashes: the next n requests crash the copy: their connection is closed with no answer, and the copy
	// loads (503) for loadFor before it is ready again.
	crashes int
	loadFor time.Duration
	got     []time.Time // when each request (not a check) arrived
	// healthySince: when /health first answered 200.
	healthySince time.Time
	server       *http.Server
}

func startCopy(t *testing.T, ip, name string, health int) *fakeCopy {
	t.Helper()
	c := &fakeCopy{t: t, ip: ip, name: name, health: health, answer: health}
	c.start()
	t.Cleanup(c.stop)
	return c
}

// start listens (again, on the same port after a stop).
func (c *fakeCopy) start() {
	l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", c.ip, c.port))
	if err != nil {
		c.t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	c.mu.Lock()
	c.server = &http.Server{Handler: c}
	server := c.server
	c.mu.Unlock()
	go server.Serve(l)
}

// stop closes the listener and every connection, as a killed process does: new connections are refused.
func (c *fakeCopy) stop() {
	c.mu.Lock()
	server := c.server
	c.mu.Unlock()
	server.Close()
}

func (c *fakeCopy) set(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health, c.answer = status, status
}

func (c *fakeCopy) requests() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.got...)
}

func (c *fakeCopy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	if r.URL.Path == "/health" {
		status := c.health
		if status == 200 && c.healthySince.IsZero() {
			c.healthySince = time.Now()
		}
		c.mu.Unlock()
		w.WriteHeader(status)
		return
	}
	c.got = append(c.got, time.Now())
	crash := c.crashes > 0
	if crash {
		c.crashes--
		c.health, c.answer = 503, 503
		time.AfterFunc(c.loadFor, func() { c.set(200) })
	}
	answer, delay := c.answer, c.delay
	c.mu.Unlock()
	if crash {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
		return
	}
	if answer != 200 {
		w.WriteHeader(answer)
		io.WriteString(w, "loading\n")
		return
	}
	if r.Header.Get("X-Fast") == "" {
		time.Sleep(delay)
	}
	fmt.Fprintf(w, "release %s, %s, %d bytes\n", c.name, r.Method, len(body))
}

// plan2 is a version 2 plan.
func plan2(services ...Service) Plan {
	return Plan{Version: 2, Stack: "e2e", Switch: Switch{StreamCloseDelay: "1h", TLSHost: "10.30.11.45"}, Services: services}
}

// web2 is the service web on its copy c, checked by GET /health every 50 ms, 2 passes in a row.
func web2(c *fakeCopy, strategy string, listen int, hold Hold) Service {
	return Service{Name: "web", Container: c.ip, Release: "web:" + c.name, Strategy: strategy, WaitSeconds: 5, DrainSeconds: 5,
		Scheme: "http", Ports: []Port{{Listen: listen, Target: c.port}},
		Readiness: &Readiness{Kind: "http", Port: c.port, Scheme: "http", Method: "GET", Path: "/health",
			TimeoutMs: 1000, IntervalMs: 50, Passes: 2},
		Hold: &hold}
}

var hold5 = Hold{Seconds: 5, Queue: 16, Replay: true, ExpectedSeconds: 30}

// answer is what a client got from the switch.
type answer struct {
	status     int
	retryAfter string
	body       string
	err        error
	took       time.Duration
}

// send sends one request on a new connection to the switch on 127.0.0.1:port.
func send(method string, port int, body string) answer {
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d/work", port), strings.NewReader(body))
	started := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(started)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b), took: time.Since(started)}
}

// sendAll sends n requests at once and returns their answers.
func sendAll(n int, method string, port int, body string) []answer {
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i] = send(method, port, body) })
	}
	wg.Wait()
	return answers
}

// routeState reads one route from the switch's table.
func routeState(t *testing.T, admin, id string) RouteState {
	t.Helper()
	table, err := newCaddy(admin).Table()
	if err != nil {
		t.Fatal(err)
	}
	return table[id]
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 1000 {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// world is a real Caddy, a fake Docker, and the service web on its first copy, blue, which is ready.
type world struct {
	admin  string
	docker *fakeDocker
	client *Docker
	listen int
	id     string
	blue   *fakeCopy
}

func setup(t *testing.T, hold Hold) *world {
	t.Helper()
	w := &world{listen: freePort(t)}
	w.admin, _ = startCaddy(t)
	w.docker, w.client = startDocker(t, map[string]string{"127.0.0.2": "none", "127.0.0.3": "none"})
	w.blue = startCopy(t, "127.0.0.2", "blue", 200)
	w.id = routeID("web", w.listen)
	expectExit(t, apply(t, w.client, w.admin, plan2(web2(w.blue, stopThenStart, w.listen, hold))), exitOK)
	return w
}

func (w *world) route(t *testing.T) RouteState {
	t.Helper()
	return routeState(t, w.admin, w.id)
}

func TestAStopThenStartCopyThatAnswers503WhileItLoadsGetsNoRequestUntilReady(t *testing.T) {
	w := setup(t, hold5)
	w.blue.stop() // the engine stops the old copy and starts the new one, under the same name: it loads
	w.blue.set(503)
	w.blue.start()
	loading := web2(w.blue, stopThenStart, w.listen, hold5)
	loading.Release = "web:blue-2"
	done := make(chan result)
	go func() { done <- apply(t, w.client, w.admin, plan2(loading)) }()
	waitFor(t, "the route to be loading", func() bool { return w.route(t).State == "loading" })
	answers := make(chan []answer)
	go func() { answers <- sendAll(5, "POST", w.listen, "audio") }()
	time.Sleep(400 * time.Millisecond)
	w.blue.set(200) // loaded
	r := <-done
	expectExit(t, r, exitOK)
	for _, a := range <-answers {
		if a.status != 200 || a.body != "release blue, POST, 5 bytes\n" || a.took < 300*time.Millisecond {
			t.Fatalf("a held request got %d %q after %v (%v)", a.status, a.body, a.took, a.err)
		}
	}
	w.blue.mu.Lock()
	healthy := w.blue.healthySince // since the restart: the copy was 503 until then
	w.blue.mu.Unlock()
	for _, at := range w.blue.requests() {
		if at.Before(healthy) {
			t.Fatalf("a request reached the loading copy at %v, before its check passed at %v", at, healthy)
		}
	}
	if s := w.route(t); s.Held != 5 || s.Shed != 0 || s.Replayed != 0 || s.State != "ready" || s.Requests["2xx"] != 5 {
		t.Fatalf("counters: %+v", s)
	}
}

func TestPastTheQueueCapOrTheBudgetTheClientGets503WithRetryAfter(t *testing.T) {
	w := setup(t, Hold{Seconds: 1, Queue: 2, Replay: true, ExpectedSeconds: 30})
	w.blue.stop() // crashed, and its restart refuses connections while it loads
	if a := send("GET", w.listen, ""); a.status != 503 || a.took < time.Second {
		t.Fatalf("a request to a copy that is gone: %+v", a) // a dial error: held for the budget, then shed
	}
	before := w.route(t)
	if before.State != "loading" || !strings.Contains(before.LastFailure, "connection refused") {
		t.Fatalf("after a dial error: %+v", before)
	}
	shedAtOnce, shedAtBudget := 0, 0
	for _, a := range sendAll(5, "GET", w.listen, "") {
		retryAfter, _ := strconv.Atoi(a.retryAfter)
		switch {
		case a.status == 503 && a.took < 500*time.Millisecond && retryAfter >= 25 && retryAfter <= 30:
			shedAtOnce++
		case a.status == 503 && a.took >= time.Second && a.took < 2*time.Second && retryAfter >= 25:
			shedAtBudget++
		default:
			t.Fatalf("answer %d (Retry-After %q) after %v: %q %v", a.status, a.retryAfter, a.took, a.body, a.err)
		}
		if !strings.Contains(a.body, "retry in") {
			t.Fatalf("the 503's body: %q", a.body)
		}
	}
	if shedAtOnce != 3 || shedAtBudget != 2 {
		t.Fatalf("%d shed at once (queue 2), %d at the end of the 1 s budget", shedAtOnce, shedAtBudget)
	}
	s := w.route(t)
	if s.Shed-before.Shed != 5 || s.Held-before.Held != 2 || s.Holding != 0 || s.Requests["5xx"] != 6 {
		t.Fatalf("counters before %+v, after %+v", before, s)
	}
	w.blue.start() // back: requests are answered again
	waitFor(t, "the route to be ready", func() bool { return w.route(t).State == "ready" })
	if a := send("GET", w.listen, ""); a.status != 200 {
		t.Fatalf("after the load: %+v", a)
	}
}

func TestAPostWhoseCopyCrashedBeforeAnsweringIsSentAgainOnceReady(t *testing.T) {
	w := setup(t, hold5)
	w.blue.mu.Lock()
	w.blue.crashes, w.blue.loadFor = 1, 300*time.Millisecond
	w.blue.mu.Unlock()
	a := send("POST", w.listen, "one second of audio")
	if a.status != 200 || a.body != "release blue, POST, 19 bytes\n" || a.took < 300*time.Millisecond {
		t.Fatalf("the POST got %+v", a)
	}
	if n := len(w.blue.requests()); n != 2 {
		t.Fatalf("the copy got the POST %d times, want 2 (the crash, the replay)", n)
	}
	if s := w.route(t); s.Replayed != 1 || s.State != "ready" || s.Requests["2xx"] != 1 || s.Requests["5xx"] != 0 {
		t.Fatalf("counters: %+v", s)
	}
}

func TestWithoutReplayAPostWhoseCopyCrashedGets502AndIsNotSentAgain(t *testing.T) {
	noReplay := hold5
	noReplay.Replay = false
	w := setup(t, noReplay)
	w.blue.mu.Lock()
	w.blue.crashes, w.blue.loadFor = 1, 300*time.Millisecond
	w.blue.mu.Unlock()
	if a := send("POST", w.listen, "audio"); a.status != 502 {
		t.Fatalf("the POST got %+v, want 502", a)
	}
	if n := len(w.blue.requests()); n != 1 {
		t.Fatalf("the copy got the POST %d times, want 1", n)
	}
	// The last failure is the crash's, or already the prober's (it checks every 50 ms while the copy loads, and the
	// copy answers its /health with 503): either way the route is not ready, and the 502 is the one 5xx.
	s := w.route(t)
	crashed := strings.Contains(s.LastFailure, "no response header") || strings.Contains(s.LastFailure, "GET /health answered 503")
	if s.Replayed != 0 || s.State != "loading" || !crashed || s.Requests["5xx"] != 1 {
		t.Fatalf("the crash did not mark the route not ready: %+v", s)
	}
	// The next request is held until the copy is back, then answered.
	if a := send("POST", w.listen, "audio"); a.status != 200 || a.took < 100*time.Millisecond {
		t.Fatalf("the next POST got %+v", a)
	}
}

func TestA503FromACopyThatRestartedUnseenNeverReachesTheClient(t *testing.T) {
	w := setup(t, hold5)
	// The copy restarted between two requests (no request failed meanwhile): the route is still ready, and the
	// copy answers 503 while it loads.
	w.blue.set(503)
	time.AfterFunc(300*time.Millisecond, func() { w.blue.set(200) })
	for _, a := range sendAll(3, "POST", w.listen, "audio") {
		if a.status != 200 {
			t.Fatalf("a client got %d %q", a.status, a.body)
		}
	}
	if s := w.route(t); s.Replayed < 1 || s.Requests["5xx"] != 0 || s.Requests["2xx"] != 3 {
		t.Fatalf("counters: %+v", s)
	}
}

func TestBlueGreenPromotesTheNewCopyOnlyAfterItsReadinessPassedThenDrainsTheOld(t *testing.T) {
	w := setup(t, hold5)
	green := startCopy(t, "127.0.0.3", "green", 503)
	w.blue.mu.Lock()
	w.blue.delay = 700 * time.Millisecond
	w.blue.mu.Unlock()
	done := make(chan result)
	go func() { done <- apply(t, w.client, w.admin, plan2(web2(green, blueGreen, w.listen, hold5))) }()
	waitFor(t, "green to be the next copy", func() bool { return w.route(t).Next != nil })
	inflight := make(chan []answer)
	go func() { inflight <- sendAll(3, "POST", w.listen, "slow") }() // green loads: blue answers, nothing is held
	blueDial := fmt.Sprintf("127.0.0.2:%d", w.blue.port)
	waitFor(t, "3 requests in flight on blue", func() bool { return w.route(t).InflightDials[blueDial] == 3 })
	green.set(200)
	r := <-done
	expectExit(t, r, exitOK)
	for _, a := range <-inflight {
		if a.status != 200 || a.body != "release blue, POST, 4 bytes\n" {
			t.Fatalf("a request in flight on blue during the switch: %+v", a)
		}
	}
	var drained float64
	if _, err := fmt.Sscanf(r.log[strings.Index(r.log, "web: old copy drained:"):], "web: old copy drained: 0 requests in flight on it after %f s", &drained); err != nil || drained < 0.2 {
		t.Fatalf("the push did not wait for blue's requests (%v, %.1f s):\n%s", err, drained, r.log)
	}
	green.mu.Lock()
	healthy := green.healthySince
	green.mu.Unlock()
	for _, at := range green.requests() {
		if at.Before(healthy) {
			t.Fatal("green got a request before its readiness check passed")
		}
	}
	if a := send("GET", w.listen, ""); !strings.HasPrefix(a.body, "release green") {
		t.Fatalf("after the release: %+v", a)
	}
	if s := w.route(t); s.Held != 0 || s.Next != nil || s.Release != "web:green" {
		t.Fatalf("the route: %+v", s)
	}
}

func TestABlueGreenCopyThatNeverPassesIsRemovedAndTheOldDialKept(t *testing.T) {
	w := setup(t, hold5)
	green := startCopy(t, "127.0.0.3", "green", 503)
	s := web2(green, blueGreen, w.listen, hold5)
	s.WaitSeconds = 1
	r := apply(t, w.client, w.admin, plan2(s))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web"}, Kept: []string{"web"}})
	equal(t, "removed", w.docker.removed, []string{"127.0.0.3"})
	for _, want := range []string{"web: 127.0.0.3 not ready after 1 s (" + w.id + ": ready, next 127.0.0.3:",
		"not ready yet: next: GET /health answered 503)", "CUDA out of memory: 127.0.0.3"} {
		if !strings.Contains(r.log, want) {
			t.Fatalf("the log does not say %q:\n%s", want, r.log)
		}
	}
	st := w.route(t)
	if st.Next != nil || st.Dial != fmt.Sprintf("127.0.0.2:%d", w.blue.port) || st.Release != "web:blue" || st.State != "ready" {
		t.Fatalf("the route: %+v", st)
	}
	if len(green.requests()) != 0 {
		t.Fatal("the copy that never passed got a request")
	}
	if a := send("GET", w.listen, ""); !strings.HasPrefix(a.body, "release blue") {
		t.Fatalf("after the failed release: %+v", a)
	}
}

func TestDrainHoldsNewRequestsAndWaitsForThoseInFlight(t *testing.T) {
	w := setup(t, hold5)
	w.blue.mu.Lock()
	w.blue.delay = 600 * time.Millisecond
	w.blue.mu.Unlock()
	slow := make(chan answer)
	go func() { slow <- send("POST", w.listen, "slow") }()
	waitFor(t, "a request in flight", func() bool { return w.route(t).InFlight == 1 })

	file := filepath.Join(t.TempDir(), "drain.json")
	os.WriteFile(file, []byte(fmt.Sprintf(`{"version":1,"stack":"e2e","services":[{"name":"web","release":"web:blue-2",`+
		`"drainSeconds":5,"drainedSeconds":60,"ports":[%d,9]}]}`, w.listen)), 0o644)
	var out, log bytes.Buffer
	a := &agent{docker: w.client, caddy: newCaddy(w.admin), poll: 50 * time.Millisecond, out: &out, log: &log}
	started := time.Now()
	if code := a.run([]string{"drain", file}); code != exitOK {
		t.Fatalf("drain: %d\n%s", code, log.String())
	}
	took := time.Since(started)
	if got := <-slow; got.status != 200 || took < 300*time.Millisecond {
		t.Fatalf("drain returned after %v; the request in flight got %+v", took, got)
	}
	if strings.TrimSpace(out.String()) != fmt.Sprintf(`{"routes":{"%s":{"inflightBefore":1,"inflight":0}},"unknown":["web-9"],"unchanged":[]}`, w.id) {
		t.Fatalf("drain printed %s\n%s", out.String(), log.String())
	}
	// Drained: a new request is held (the old copy is stopped now, the new one loads), until the push sets the
	// route on the new copy.
	held := make(chan answer)
	go func() { held <- send("GET", w.listen, "") }()
	waitFor(t, "a held request", func() bool { return w.route(t).Holding == 1 })
	next := web2(w.blue, stopThenStart, w.listen, hold5)
	next.Release = "web:blue-2"
	expectExit(t, apply(t, w.client, w.admin, plan2(next)), exitOK)
	if got := <-held; got.status != 200 {
		t.Fatalf("the held request: %+v", got)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"version":2,"stack":"e2e","services":[{"name":"a b","release":"r","drainSeconds":-1,"drainedSeconds":1,"ports":[]}]}`), 0o644)
	log.Reset()
	if code := a.run([]string{"drain", bad}); code != exitUsage || !strings.Contains(log.String(), "version: 2, only 1") ||
		!strings.Contains(log.String(), `services[0].name: "a b"`) || !strings.Contains(log.String(), "services[0].ports: empty") {
		t.Fatalf("a bad drain file: %d\n%s", code, log.String())
	}
	down := &agent{docker: w.client, caddy: newCaddy(fmt.Sprintf("http://127.0.0.1:%d", freePort(t))), out: io.Discard, log: io.Discard}
	if code := down.run([]string{"drain", file}); code != exitNotLoaded {
		t.Fatalf("drain with no switch: %d", code)
	}
}

func TestDrainLeavesAloneARouteWhoseReleaseIsUnchanged(t *testing.T) {
	w := setup(t, hold5)
	// The drain lists every stop-then-start service of the host; only the one with a new release is drained.
	file := filepath.Join(t.TempDir(), "drain.json")
	os.WriteFile(file, []byte(fmt.Sprintf(`{"version":1,"stack":"e2e","services":[{"name":"web","release":"web:blue",`+
		`"drainSeconds":5,"drainedSeconds":60,"ports":[%d]}]}`, w.listen)), 0o644)
	var out, log bytes.Buffer
	a := &agent{docker: w.client, caddy: newCaddy(w.admin), poll: 50 * time.Millisecond, out: &out, log: &log}
	if code := a.run([]string{"drain", file}); code != exitOK {
		t.Fatalf("drain: %d\n%s", code, log.String())
	}
	if strings.TrimSpace(out.String()) != fmt.Sprintf(`{"routes":{},"unknown":[],"unchanged":["%s"]}`, w.id) {
		t.Fatalf("drain printed %s\n%s", out.String(), log.String())
	}
	if st := w.route(t); st.State != stateReady {
		t.Fatalf("an unchanged route was drained: %+v", st)
	}
	if a := send("GET", w.listen, ""); a.status != 200 || !strings.HasPrefix(a.body, "release blue") {
		t.Fatalf("the unchanged route: %+v", a)
	}
}

func TestARestartedSwitchHoldsUntilEachRouteIsReadyWithAV2OrAV1TableFile(t *testing.T) {
	dir := t.TempDir()
	admin := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	os.WriteFile(filepath.Join(dir, "bootstrap.json"), []byte(`{"admin":{"listen":"`+strings.TrimPrefix(admin, "http://")+`"}}`), 0o644)
	stop := runCaddy(t, dir, admin)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "none"})
	blue := startCopy(t, "127.0.0.2", "blue", 200)
	listen := freePort(t)
	id := routeID("web", listen)
	expectExit(t, apply(t, client, admin, plan2(web2(blue, stopThenStart, listen, hold5))), exitOK)
	tableFile := filepath.Join(dir, "config", "caddy", "gpu-switch-upstreams.json")

	// A reboot: the switch is up before the service, which loads (503) for 400 ms: held, then answered.
	stop()
	blue.set(503)
	stop = runCaddy(t, dir, admin)
	time.AfterFunc(400*time.Millisecond, func() { blue.set(200) })
	if a := send("POST", listen, "audio"); a.status != 200 || a.took < 300*time.Millisecond {
		t.Fatalf("after the restart: %+v", a)
	}
	if s := routeState(t, admin, id); s.Held != 1 || s.Readiness.Path != "/health" {
		t.Fatalf("after the restart: %+v", s)
	}

	// An older switch's table file (plain dials): each entry checks a TCP connection.
	stop()
	os.WriteFile(tableFile, []byte(fmt.Sprintf(`{"routes":{%q:"127.0.0.2:%d"}}`, id, blue.port)), 0o600)
	blue.stop() // the service starts after the switch
	runCaddy(t, dir, admin)
	time.AfterFunc(300*time.Millisecond, blue.start)
	if a := send("POST", listen, "audio"); a.status != 200 || a.took < 200*time.Millisecond {
		t.Fatalf("after a restart with an older table file: %+v", a)
	}
	if s := routeState(t, admin, id); s.Readiness.Kind != "tcp" || s.Hold.Replay || s.Hold.Seconds != 10 || s.State != "ready" {
		t.Fatalf("the entry of the older file: %+v", s)
	}
}

// A copy checked by a TCP connect (no readiness of its own, and a healthcheck that is no HTTP GET) gets no request
// until Docker calls it healthy, though its port accepts connections at once: one that never turns healthy is
// removed and the old dial kept; one that turns healthy is promoted.
func TestATCPCheckedCopyWaitsForDockersHealth(t *testing.T) {
	w := setup(t, hold5)
	tcpChecked := func(c *fakeCopy) Service {
		s := web2(c, blueGreen, w.listen, hold5)
		s.Readiness = &Readiness{Kind: "tcp", Port: c.port, TimeoutMs: 1000, IntervalMs: 50, Passes: 1}
		s.WaitSeconds = 1
		return s
	}
	unhealthy := startCopy(t, "127.0.0.3", "unhealthy", 200)
	w.docker.mu.Lock()
	w.docker.containers["127.0.0.3"] = "unhealthy"
	w.docker.containers["127.0.0.4"] = "starting"
	w.docker.mu.Unlock()
	r := apply(t, w.client, w.admin, plan2(tcpChecked(unhealthy)))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web"}, Kept: []string{"web"}})
	equal(t, "removed", w.docker.removed, []string{"127.0.0.3"})
	if got := unhealthy.requests(); len(got) != 0 {
		t.Fatalf("a copy Docker never called healthy got %d requests", len(got))
	}
	if a := send("GET", w.listen, ""); !strings.HasPrefix(a.body, "release blue") {
		t.Fatalf("after the failed release: %+v", a)
	}

	green := startCopy(t, "127.0.0.4", "green", 200)
	healthyAt := make(chan time.Time, 1)
	time.AfterFunc(500*time.Millisecond, func() {
		w.docker.mu.Lock()
		w.docker.containers["127.0.0.4"] = "healthy"
		w.docker.mu.Unlock()
		healthyAt <- time.Now()
	})
	done := make(chan result)
	go func() { done <- apply(t, w.client, w.admin, plan2(tcpChecked(green))) }()
	for range 20 {
		if a := send("GET", w.listen, ""); !strings.HasPrefix(a.body, "release blue") && !strings.HasPrefix(a.body, "release green") {
			t.Fatalf("during the release: %+v", a)
		}
		time.Sleep(25 * time.Millisecond)
	}
	expectExit(t, <-done, exitOK)
	healthy := <-healthyAt
	for _, at := range green.requests() {
		if at.Before(healthy) {
			t.Fatalf("green got a request at %v, before Docker called it healthy at %v", at, healthy)
		}
	}
	if a := send("GET", w.listen, ""); !strings.HasPrefix(a.body, "release green") {
		t.Fatalf("after the release: %+v", a)
	}
}
