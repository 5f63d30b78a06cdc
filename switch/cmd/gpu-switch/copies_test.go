package main

// Several copies of a service against the real Caddy: a pool of routes behind one listener, balanced by requests
// in flight, with copies that fail, come back, are released one at a time (partial plans) and scaled down.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// copyOf is copy i of the service web, stop-then-start, on its fakeCopy.
func copyOf(c *fakeCopy, i, listen int) Service {
	s := web2(c, stopThenStart, listen, hold5)
	s.Copy = i
	return s
}

// pool is a real Caddy, a fake Docker and the copies of web, each on 127.0.0.<2+i>, all ready.
type pool struct {
	admin  string
	docker *Docker
	listen int
	copies []*fakeCopy
	ids    []string
}

func startPool(t *testing.T, n int, others ...Service) *pool {
	t.Helper()
	p := &pool{listen: freePort(t)}
	p.admin, _ = startCaddy(t)
	containers := map[string]string{"127.0.0.9": "none"}
	var services []Service
	for i := range n {
		ip := fmt.Sprintf("127.0.0.%d", 2+i)
		containers[ip] = "none"
		p.copies = append(p.copies, startCopy(t, ip, fmt.Sprintf("c%d", i), 200))
		p.ids = append(p.ids, copyRouteID("web", p.listen, i))
		services = append(services, copyOf(p.copies[i], i, p.listen))
	}
	_, p.docker = startDocker(t, containers)
	expectExit(t, apply(t, p.docker, p.admin, plan2(append(services, others...)...)), exitOK)
	return p
}

func (p *pool) plan(copies ...int) []Service {
	var services []Service
	for _, i := range copies {
		services = append(services, copyOf(p.copies[i], i, p.listen))
	}
	return services
}

// reached is the number of requests the copies got in all.
func (p *pool) reached() int {
	n := 0
	for _, c := range p.copies {
		n += len(c.requests())
	}
	return n
}

// counts is the requests each copy got, by name.
func (p *pool) counts() map[string]int {
	out := map[string]int{}
	for _, c := range p.copies {
		out[c.name] = len(c.requests())
	}
	return out
}

func (p *pool) setDelay(d time.Duration) {
	for _, c := range p.copies {
		c.mu.Lock()
		c.delay = d
		c.mu.Unlock()
	}
}

// sendFast sends a POST the copies answer at once, whatever their delay, and returns the copy that answered.
func sendFast(t *testing.T, port int) string {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/work", port), strings.NewReader("audio"))
	req.Header.Set("X-Fast", "1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("a fast request got %d %s", resp.StatusCode, body)
	}
	return strings.Fields(string(body))[1][:2]
}

func TestThreeCopiesShareOneListenerAndEachRequestGoesToTheCopyWithTheFewestInFlight(t *testing.T) {
	p := startPool(t, 3)
	live, _ := newCaddy(p.admin).Config()
	if strings.Count(string(live), `"gpu_switch_hold"`) != 1 || strings.Contains(string(live), p.ids[1]) {
		t.Fatalf("the config has a listener per copy: %s", live)
	}
	for i, id := range p.ids {
		if r := routeState(t, p.admin, id); r.State != stateReady || (i == 0) != (r.Pool == "") || i > 0 && r.Pool != p.ids[0] {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	p.setDelay(800 * time.Millisecond)
	slow := make(chan []answer)
	go func() { slow <- sendAll(2, "POST", p.listen, "slow") }()
	waitFor(t, "two requests at the copies", func() bool { return p.reached() == 2 })
	busy := p.counts()
	idle := ""
	for name, n := range busy {
		if n == 0 {
			idle = name
		}
	}
	// Two copies have a long request each: every short one goes to the third (turns would send it 2 of 6).
	for range 6 {
		if got := sendFast(t, p.listen); got != idle {
			t.Fatalf("a short request went to %s, want the idle copy %s (%v busy)", got, idle, busy)
		}
	}
	for _, a := range <-slow {
		if a.status != 200 {
			t.Fatalf("a slow request: %+v", a)
		}
	}
	before := p.counts()
	for _, a := range sendAll(6, "POST", p.listen, "slow") { // all at once: two each
		if a.status != 200 {
			t.Fatalf("a request: %+v", a)
		}
	}
	after := p.counts()
	for name := range after {
		if after[name]-before[name] != 2 {
			t.Fatalf("6 requests at once: %v before, %v after, want 2 more each", before, after)
		}
	}
	for i, id := range p.ids {
		if r := routeState(t, p.admin, id); r.Requests["2xx"] != after[p.copies[i].name] {
			t.Fatalf("%s counts %d answers, its copy got %d", id, r.Requests["2xx"], after[p.copies[i].name])
		}
	}
}

func TestACopyThatFailsLeavesThePoolUntilItIsReadyAgainAndNoRequestFails(t *testing.T) {
	p := startPool(t, 3)
	p.copies[1].set(503) // c1 restarted unseen: it answers 503 while it loads
	for range 6 {
		if got := sendFast(t, p.listen); got == "c1" {
			t.Fatal("a request was answered by the copy that loads")
		}
	}
	if n := len(p.copies[1].requests()); n != 1 {
		t.Fatalf("the loading copy got %d requests, want 1 (the one that found it out)", n)
	}
	if r := routeState(t, p.admin, p.ids[1]); r.State != "loading" || r.Replayed != 1 || r.Requests["5xx"] != 0 {
		t.Fatalf("the copy that answered 503: %+v", r)
	}
	p.copies[1].set(200)
	waitFor(t, "c1 to be ready", func() bool { return routeState(t, p.admin, p.ids[1]).State == stateReady })
	if got := sendFast(t, p.listen); got != "c1" { // chosen longest ago: its turn
		t.Fatalf("the copy that came back does not get the next request: %s did", got)
	}

	// Its process is gone: the connection is refused, and the request goes to another copy at once.
	p.copies[2].stop()
	for _, a := range sendAll(9, "POST", p.listen, "audio") {
		if a.status != 200 || strings.HasPrefix(a.body, "release c2") {
			t.Fatalf("with c2 gone: %+v", a)
		}
	}
	if r := routeState(t, p.admin, p.ids[2]); r.State != "loading" || r.Replayed < 1 || !strings.Contains(r.LastFailure, "refused") {
		t.Fatalf("the copy that is gone: %+v", r)
	}
	p.copies[2].start()
	waitFor(t, "c2 to be ready", func() bool { return routeState(t, p.admin, p.ids[2]).State == stateReady })
}

func TestRequestsHeldForAPoolAreLetGoWhenAnyCopyIsReady(t *testing.T) {
	p := startPool(t, 3)
	for _, c := range p.copies {
		c.set(503)
	}
	time.AfterFunc(400*time.Millisecond, func() { p.copies[2].set(200) })
	for _, a := range sendAll(4, "POST", p.listen, "audio") {
		if a.status != 200 || a.body != "release c2, POST, 5 bytes\n" || a.took < 300*time.Millisecond {
			t.Fatalf("a held request: %+v", a)
		}
	}
	head := routeState(t, p.admin, p.ids[0])
	if head.State != "loading" || head.Held != 4 || head.Holding != 0 || head.Shed != 0 {
		t.Fatalf("the pool's route holds the requests: %+v", head)
	}
	if r := routeState(t, p.admin, p.ids[2]); r.Requests["2xx"] != 4 {
		t.Fatalf("the copy that was ready first: %+v", r)
	}
}

func TestAPartialPlanSetsItsRoutesOnlyAndLeavesTheConfigAndTheOtherRoutesAlone(t *testing.T) {
	other := startCopy(t, "127.0.0.9", "other", 200)
	zz := web2(other, stopThenStart, freePort(t), hold5)
	zz.Name = "zz"
	p := startPool(t, 2, zz)
	caddy := newCaddy(p.admin)
	config, _ := caddy.Config()
	before, _ := caddy.Table()

	// Copy 1 is released on its own: drained, then its new container is armed by a partial plan.
	file := filepath.Join(t.TempDir(), "drain.json")
	os.WriteFile(file, []byte(fmt.Sprintf(`{"version":1,"stack":"e2e","services":[{"name":"web","copy":1,"release":"web:c1-2",`+
		`"drainSeconds":5,"drainedSeconds":60,"ports":[%d]}]}`, p.listen)), 0o644)
	var out bytes.Buffer
	a := &agent{docker: p.docker, caddy: caddy, poll: 50 * time.Millisecond, out: &out, log: io.Discard}
	if code := a.run([]string{"drain", file}); code != exitOK || !strings.Contains(out.String(), `"routes":{"`+p.ids[1]+`":`) {
		t.Fatalf("drain of copy 1: %d %s", code, out.String())
	}
	if s := routeState(t, p.admin, p.ids[1]); s.State != "drained" || routeState(t, p.admin, p.ids[0]).State != stateReady {
		t.Fatalf("the drain of copy 1 drained %+v", s)
	}
	for range 3 {
		if got := sendFast(t, p.listen); got != "c0" {
			t.Fatalf("with copy 1 drained, %s answered", got)
		}
	}
	release := copyOf(p.copies[1], 1, p.listen)
	release.Release = "web:c1-2"
	partial := plan2(release)
	partial.Partial = true
	r := apply(t, p.docker, p.admin, partial)
	expectExit(t, r, exitOK)
	equal(t, "summary", r.summary, Summary{Switched: []string{"web-copy1"}, Failed: []string{}, Kept: []string{}})
	if !strings.Contains(r.log, "partial plan: routes set (0 removed), config and other routes left alone: "+p.ids[1]+" -> 127.0.0.3:") ||
		strings.Contains(r.log, "config loaded") {
		t.Fatalf("the partial push:\n%s", r.log)
	}
	after, _ := caddy.Table()
	if now, _ := caddy.Config(); !bytes.Equal(now, config) || len(after) != 3 || after[p.ids[1]].Release != "web:c1-2" ||
		after[p.ids[1]].Pool != p.ids[0] || after[p.ids[0]].Release != before[p.ids[0]].Release || after[zz.routeOn(zz.Ports[0].Listen)].State != stateReady {
		t.Fatalf("the partial plan touched more than its route:\n%s\n%s\n%v", config, now, after)
	}

	// A partial plan of a copy that never gets ready fails, and names the copy.
	p.copies[1].set(503)
	broken := copyOf(p.copies[1], 1, p.listen)
	broken.Release, broken.WaitSeconds = "web:c1-3", 1
	partial = plan2(broken)
	partial.Partial = true
	r = apply(t, p.docker, p.admin, partial)
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web-copy1"}, Kept: []string{}})
	if got := sendFast(t, p.listen); got != "c0" {
		t.Fatalf("with copy 1 broken, %s answered", got)
	}
}

func TestAFullPlanWithFewerCopiesDrainsTheirRoutesThenRemovesThem(t *testing.T) {
	p := startPool(t, 3)
	p.setDelay(700 * time.Millisecond)
	slow := make(chan []answer)
	go func() { slow <- sendAll(3, "POST", p.listen, "slow") }() // one on each copy
	waitFor(t, "three requests at the copies", func() bool { return p.reached() == 3 })
	r := apply(t, p.docker, p.admin, plan2(p.plan(0, 1)...))
	expectExit(t, r, exitOK)
	for _, a := range <-slow {
		if a.status != 200 {
			t.Fatalf("a request in flight during the scale-down: %+v", a)
		}
	}
	var left int
	var waited float64
	at := strings.Index(r.log, "web: copies no longer in the plan drained ("+p.ids[2]+")")
	if at < 0 {
		t.Fatalf("no drain of copy 2:\n%s", r.log)
	}
	if _, err := fmt.Sscanf(r.log[at:], "web: copies no longer in the plan drained ("+p.ids[2]+"): %d requests in flight left after %f s",
		&left, &waited); err != nil || left != 0 || waited < 0.2 {
		t.Fatalf("the drain did not wait for copy 2's request (%v):\n%s", err, r.log)
	}
	table, _ := newCaddy(p.admin).Table()
	if _, ok := table[p.ids[2]]; ok || len(table) != 2 {
		t.Fatalf("copy 2's route was not removed: %v", table)
	}
	before := len(p.copies[2].requests())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { sendFast(t, p.listen) })
	}
	wg.Wait()
	if len(p.copies[2].requests()) != before {
		t.Fatal("the copy scaled down got a request")
	}
	// And back to three: copy 2's route is a member again.
	expectExit(t, apply(t, p.docker, p.admin, plan2(p.plan(0, 1, 2)...)), exitOK)
	if s := routeState(t, p.admin, p.ids[2]); s.State != stateReady || s.Pool != p.ids[0] {
		t.Fatalf("copy 2 after the scale-up: %+v", s)
	}
}

func TestAPlanNamesEachCopyOnceAndAFullPlanHasEveryCopy0(t *testing.T) {
	c := &fakeCopy{ip: "127.0.0.2", port: 8000}
	copyN := func(i int, listen int) Service { return copyOf(c, i, listen) }
	other := copyN(0, 8001)
	other.Name = "zz"
	withoutCopy0 := plan2(copyN(1, 8000), copyN(2, 8000))
	for what, tc := range map[string]struct {
		plan Plan
		want []string
	}{
		"copies of one service share its listeners": {plan: plan2(copyN(0, 8000), copyN(1, 8000), copyN(2, 8000))},
		"a copy twice": {plan: plan2(copyN(0, 8000), copyN(1, 8000), copyN(1, 8000)),
			want: []string{"services[2].copy: copy 1 of web is also services[1]"}},
		"a full plan without copy 0": {plan: withoutCopy0, want: []string{
			"services[0]: copy 1 of web, and no copy 0 of web in a full plan", "services[1]: copy 2 of web, and no copy 0 of web in a full plan"}},
		"a copy on other ports": {plan: plan2(copyN(0, 8000), copyN(1, 8002)),
			want: []string{"services[1].ports: copy 1 of web listens on [8002], its copy 0 (services[0]) on [8000]"}},
		"another service on a copy's port": {plan: plan2(copyN(0, 8000), copyN(1, 8000), other, func() Service { s := copyN(1, 8000); s.Name = "zz"; return s }()),
			want: []string{"services[3].ports[0].listen: 8000 is also web's", "services[3].ports: copy 1 of zz listens on [8000], its copy 0 (services[2]) on [8001]"}},
		"a copy out of range": {plan: plan2(copyN(0, 8000), copyN(1000, 8000), copyN(-1, 8000)),
			want: []string{"services[1].copy: 1000, allowed 0..999", "services[2].copy: -1, allowed 0..999"}},
		"a version 1 plan": {plan: func() Plan {
			p := plan(web("w", blueGreen, 8000, 8000))
			p.Partial = true
			p.Services[0].Copy = 1
			return p
		}(),
			want: []string{"partial: a version 2 key", "services[0].readiness, hold, release and copy are version 2 keys"}},
	} {
		t.Run(what, func(t *testing.T) { equal(t, "problems", tc.plan.check(), tc.want) })
	}
	withoutCopy0.Partial = true
	equal(t, "a partial plan without copy 0", withoutCopy0.check(), []string(nil))
	file := filepath.Join(t.TempDir(), "drain.json")
	os.WriteFile(file, []byte(`{"version":1,"stack":"e2e","services":[{"name":"web","copy":-2,"release":"r","drainSeconds":1,"drainedSeconds":1,"ports":[8000]}]}`), 0o644)
	if _, err := readDrainFile(file); err == nil || !strings.Contains(err.Error(), "services[0].copy: -2, allowed 0..999") {
		t.Fatalf("a drain of copy -2: %v", err)
	}
}
