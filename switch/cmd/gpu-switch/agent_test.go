package main

// The agent against a fake Docker Engine API (httptest on a unix socket) and a real Caddy: the binary built from
// this module's cmd/caddy, run on loopback with its own XDG folders. Upstreams are test servers on 127.0.0.x,
// and the plan names them by IP, as Docker DNS would resolve a container name. Traffic goes to 127.0.0.0/8 only.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var caddyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gpu-switch-test")
	if err != nil {
		panic(err)
	}
	caddyBin = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", caddyBin, "../caddy")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building caddy: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCaddy runs `caddy run --resume --config bootstrap.json` (the switch container's command) with the admin
// API on a free loopback port; it returns the admin base URL and the XDG folder.
func startCaddy(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	admin := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	os.WriteFile(filepath.Join(dir, "bootstrap.json"), []byte(`{"admin":{"listen":"`+admin+`"}}`), 0o644)
	runCaddy(t, dir, "http://"+admin)
	return "http://" + admin, dir
}

// runCaddy starts Caddy in dir and waits for its admin API; the returned function stops it.
func runCaddy(t *testing.T, dir, admin string) (stop func()) {
	t.Helper()
	cmd := exec.Command(caddyBin, "run", "--resume", "--config", filepath.Join(dir, "bootstrap.json"))
	cmd.Env = []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir + "/config", "XDG_DATA_HOME=" + dir + "/data"}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("caddy's log:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	for i := 0; ; i++ {
		if _, err := newCaddy(admin).Config(); err == nil {
			return stop
		}
		if i == 100 {
			t.Fatalf("caddy's admin API did not answer:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fakeDocker answers the three Engine API calls the agent makes, from a table of containers.
type fakeDocker struct {
	mu         sync.Mutex
	containers map[string]string // name -> health: "healthy", "starting", "unhealthy", "none" (running, no healthcheck)
	removed    []string
}

func startDocker(t *testing.T, containers map[string]string) (*fakeDocker, *Docker) {
	t.Helper()
	f := &fakeDocker{containers: containers}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containers/{name}/json", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		health, ok := f.containers[r.PathValue("name")]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"No such container"}`, http.StatusNotFound)
			return
		}
		state := map[string]any{"Status": "running", "Running": true}
		if health != "none" {
			state["Health"] = map[string]any{"Status": health}
		}
		json.NewEncoder(w).Encode(map[string]any{"Name": "/" + r.PathValue("name"), "State": state})
	})
	mux.HandleFunc("GET /containers/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("tail") != "200" {
			http.Error(w, "tail", http.StatusBadRequest)
		}
		for _, frame := range []struct {
			stream byte
			text   string
		}{{1, "loading model\n"}, {2, "CUDA out of memory: " + r.PathValue("name") + "\n"}} {
			w.Write([]byte{frame.stream, 0, 0, 0, 0, 0, 0, byte(len(frame.text))})
			w.Write([]byte(frame.text))
		}
	})
	mux.HandleFunc("DELETE /containers/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.URL.Query().Get("force") != "1" {
			http.Error(w, "not forced", http.StatusConflict)
			return
		}
		delete(f.containers, r.PathValue("name"))
		f.removed = append(f.removed, r.PathValue("name"))
		w.WriteHeader(http.StatusNoContent)
	})
	socket := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewUnstartedServer(mux)
	server.Listener = l
	server.Start()
	t.Cleanup(server.Close)
	return f, newDocker(socket)
}

// serve serves `release <name>` on ip:0 (TLS with a self-signed certificate when tls is set), as a
// service container would; it returns the port.
func serve(t *testing.T, ip, name string, withTLS bool) int {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "release %s, %s, %d bytes\n", name, r.Method, len(body))
	}))
	server.Listener.Close()
	server.Listener = l
	if withTLS {
		server.StartTLS()
	} else {
		server.Start()
	}
	t.Cleanup(server.Close)
	return l.Addr().(*net.TCPAddr).Port
}

type result struct {
	code    int
	summary Summary
	log     string
	took    time.Duration
}

func apply(t *testing.T, docker *Docker, admin string, plan Plan) result {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plan.json")
	data, _ := json.Marshal(plan)
	os.WriteFile(file, data, 0o644)
	var out, log bytes.Buffer
	a := &agent{docker: docker, caddy: newCaddy(admin), poll: 50 * time.Millisecond, out: &out, log: &log}
	started := time.Now()
	r := result{code: a.run([]string{"apply", file}), log: log.String(), took: time.Since(started)}
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &r.summary); err != nil {
			t.Fatalf("the summary is not one JSON line: %q", out.String())
		}
	}
	return r
}

// plan is a version 1 plan (an older program's): Docker's health gates a release, and one hold for the switch.
func plan(services ...Service) Plan {
	hold := 2
	return Plan{Version: 1, Stack: "e2e", Switch: Switch{HoldSeconds: &hold, StreamCloseDelay: "1h", TLSHost: "10.30.11.45"}, Services: services}
}

func web(container string, strategy string, listen, target int) Service {
	return Service{Name: "web", Container: container, Strategy: strategy, WaitSeconds: 1, DrainSeconds: 0, Scheme: "http",
		Ports: []Port{{Listen: listen, Target: target}}}
}

// get sends one request to the switch on 127.0.0.1 (a new connection each time) and returns the body.
func get(t *testing.T, scheme string, port int) (string, error) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
	}}
	resp, err := client.Post(fmt.Sprintf("%s://127.0.0.1:%d/", scheme, port), "text/plain", strings.NewReader(strings.Repeat("x", 8192)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return string(body), nil
}

// expectRelease: one POST through the switch on 127.0.0.1:port is answered by the upstream named release.
func expectRelease(t *testing.T, scheme string, port int, release string) {
	t.Helper()
	if body := mustGet(t, scheme, port); body != "release "+release+", POST, 8192 bytes\n" {
		t.Fatalf("answer %q, want release %s's", body, release)
	}
}

func expectExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d:\n%s", r.code, code, r.log)
	}
}

func mustGet(t *testing.T, scheme string, port int) string {
	t.Helper()
	body, err := get(t, scheme, port)
	if err != nil {
		t.Fatalf("GET through the switch: %v", err)
	}
	return body
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("%s: got %s, want %s", what, g, w)
	}
}

func TestBlueGreenHealthySwitchesAndDrains(t *testing.T) {
	admin, _ := startCaddy(t)
	docker, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "healthy"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	listen := freePort(t)

	r := apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue)))
	if r.code != exitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.log)
	}
	equal(t, "summary", r.summary, Summary{Switched: []string{"web"}, Failed: []string{}, Kept: []string{}})
	expectRelease(t, "http", listen, "blue")

	next := web("127.0.0.3", blueGreen, listen, green)
	next.DrainSeconds = 1
	r = apply(t, client, admin, plan(next))
	if r.code != exitOK || r.took < time.Second {
		t.Fatalf("exit %d after %v (drain 1 s):\n%s", r.code, r.took, r.log)
	}
	expectRelease(t, "http", listen, "green")
	if len(docker.removed) != 0 {
		t.Fatalf("removed %v", docker.removed)
	}
}

func TestBlueGreenNotHealthyIsRemovedAndTheOldUpstreamKept(t *testing.T) {
	admin, _ := startCaddy(t)
	docker, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "starting"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	listen := freePort(t)
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue))), exitOK)

	r := apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green)))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web"}, Kept: []string{"web"}})
	equal(t, "removed", docker.removed, []string{"127.0.0.3"})
	if !strings.Contains(r.log, "CUDA out of memory: 127.0.0.3\n") || r.took < time.Second {
		t.Fatalf("no logs of the broken container, or it was not waited for (%v):\n%s", r.took, r.log)
	}
	expectRelease(t, "http", listen, "blue")
}

// The next push after a failed release names the copy the agent removed: a gone container is not waited for
// (it was waited for, until WaitSeconds, before this was fixed), and the old upstream is kept.
func TestAContainerThatIsGoneIsNotWaitedFor(t *testing.T) {
	admin, _ := startCaddy(t)
	docker, client := startDocker(t, map[string]string{"127.0.0.2": "healthy"})
	blue := serve(t, "127.0.0.2", "blue", false)
	listen := freePort(t)
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue))), exitOK)

	gone := web("127.0.0.3", blueGreen, listen, blue)
	gone.WaitSeconds = 5
	r := apply(t, client, admin, plan(gone))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web"}, Kept: []string{"web"}})
	if r.took > 2*time.Second || !strings.Contains(r.log, "127.0.0.3 is gone") {
		t.Fatalf("a container that is gone was waited for (%v, WaitSeconds 5):\n%s", r.took, r.log)
	}
	expectRelease(t, "http", listen, "blue")
	// It still makes sure the copy is gone, as after any failed blue-green release (a 404 is fine).
	equal(t, "removed", docker.removed, []string{"127.0.0.3"})
}

func TestFirstReleaseThatIsNotHealthyLeavesTheRouteOut(t *testing.T) {
	admin, _ := startCaddy(t)
	docker, client := startDocker(t, map[string]string{"127.0.0.2": "unhealthy", "127.0.0.3": "none"})
	broken, other := serve(t, "127.0.0.2", "broken", false), serve(t, "127.0.0.3", "other", false)
	listen, otherListen := freePort(t), freePort(t)
	second := Service{Name: "zz", Container: "127.0.0.3", Strategy: blueGreen, WaitSeconds: 1, Scheme: "http",
		Ports: []Port{{Listen: otherListen, Target: other}}}

	r := apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, broken), second))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{"zz"}, Failed: []string{"web"}, Kept: []string{}})
	equal(t, "removed", docker.removed, []string{"127.0.0.2"})
	if body, err := get(t, "http", listen); err == nil {
		t.Fatalf("the broken release answered through the switch: %q", body)
	}
	expectRelease(t, "http", otherListen, "other")
	live, _ := newCaddy(admin).Config()
	if strings.Contains(string(live), `"web-`) {
		t.Fatalf("the live config routes web: %s", live)
	}
}

func TestStopThenStartNotHealthyIsRoutedAnyway(t *testing.T) {
	admin, _ := startCaddy(t)
	docker, client := startDocker(t, map[string]string{"127.0.0.2": "unhealthy"})
	port := serve(t, "127.0.0.2", "slow", false)
	listen := freePort(t)

	r := apply(t, client, admin, plan(web("127.0.0.2", stopThenStart, listen, port)))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web"}, Kept: []string{}})
	if len(docker.removed) != 0 || !strings.Contains(r.log, "CUDA out of memory") {
		t.Fatalf("removed %v; log:\n%s", docker.removed, r.log)
	}
	expectRelease(t, "http", listen, "slow")
}

func TestTheLoadedConfigIsWhatWasSentAndAutosaved(t *testing.T) {
	admin, dir := startCaddy(t)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy"})
	port := serve(t, "127.0.0.2", "blue", false)
	listen := freePort(t)
	p := plan(web("127.0.0.2", blueGreen, listen, port))
	expectExit(t, apply(t, client, admin, p), exitOK)
	adminBlock, _ := json.Marshal(map[string]string{"listen": strings.TrimPrefix(admin, "http://")})
	want, _ := json.Marshal(buildConfig(&p, adminBlock, map[string]bool{routeID("web", listen): true}))
	live, _ := newCaddy(admin).Config()
	if !sameJSON(want, live) {
		t.Fatalf("live config\n%s\nwant\n%s", live, want)
	}
	// The exact shape Caddy gets, for the reader (and so that a change to it is seen here).
	for _, part := range []string{
		`"@id":"web-` + fmt.Sprint(listen) + `"`,
		`"listen":[":` + fmt.Sprint(listen) + `"]`,
		`"handle":[{"handler":"gpu_switch_hold","route":"web-` + fmt.Sprint(listen) + `"},{"handler":"reverse_proxy",`,
		`"stream_close_delay":"1h"`,
		`"dynamic_upstreams":{"source":"gpu_switch","route":"web-` + fmt.Sprint(listen) + `"}`,
		`"automatic_https":{"disable":true}`,
	} {
		if !strings.Contains(string(want), part) {
			t.Errorf("the config has no %s: %s", part, want)
		}
	}
	if strings.Contains(string(want), "127.0.0.2") || strings.Contains(string(want), "load_balancing") {
		t.Errorf("the config names the upstream (it is the route table's) or has a try_duration (the hold's): %s", want)
	}
	autosave, err := os.ReadFile(filepath.Join(dir, "config", "caddy", "autosave.json"))
	if err != nil || !sameJSON(autosave, want) {
		t.Fatalf("autosave.json (%v): %s", err, autosave)
	}
	// The route table, beside autosave.json in the switch's volume: a version 1 plan's entry checks a TCP
	// connection and holds for the plan's holdSeconds.
	saved, err := os.ReadFile(filepath.Join(dir, "config", "caddy", "gpu-switch-upstreams.json"))
	wantTable := fmt.Sprintf(`{"version":2,"routes":{"web-%d":{"dial":"127.0.0.2:%d","release":"",`+
		`"readiness":{"kind":"tcp","port":0,"scheme":"","method":"","path":"","headers":null,"bodyBase64":"","expectStatus":null,`+
		`"timeoutMs":2000,"intervalMs":250,"passes":1},"hold":{"seconds":2,"queue":256,"replay":false,"expectedSeconds":0}}}}`, listen, port)
	if err != nil || !sameJSON(saved, []byte(wantTable)) {
		t.Fatalf("gpu-switch-upstreams.json (%v): %s, want %s", err, saved, wantTable)
	}
}

func TestARestartedCaddyResumesTheLastConfig(t *testing.T) {
	dir := t.TempDir()
	admin := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	os.WriteFile(filepath.Join(dir, "bootstrap.json"), []byte(`{"admin":{"listen":"`+strings.TrimPrefix(admin, "http://")+`"}}`), 0o644)
	stop := runCaddy(t, dir, admin)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "healthy"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	listen := freePort(t)
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue))), exitOK)
	// A release is a route table update only: the table file, not autosave.json, holds it over the restart.
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green))), exitOK)
	stop()
	if _, err := get(t, "http", listen); err == nil {
		t.Fatal("answered with caddy stopped")
	}
	runCaddy(t, dir, admin) // --resume: autosave.json wins over the bootstrap; the table is read back
	expectRelease(t, "http", listen, "green")
}

func TestALoadCaddyRefusesExits4AndKeepsTheOldConfig(t *testing.T) {
	admin, _ := startCaddy(t)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "healthy"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	listen := freePort(t)
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue))), exitOK)
	taken, err := net.Listen("tcp", ":0") // a port Caddy cannot listen on
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	bad := plan(web("127.0.0.3", blueGreen, listen, green), Service{Name: "zz", Container: "127.0.0.3",
		Strategy: blueGreen, WaitSeconds: 1, Scheme: "http", Ports: []Port{{Listen: taken.Addr().(*net.TCPAddr).Port, Target: green}}})
	r := apply(t, client, admin, bad)
	if r.code != exitNotLoaded || !strings.Contains(r.log, "the switch did not take the config") {
		t.Fatalf("exit %d, want 4:\n%s", r.code, r.log)
	}
	expectRelease(t, "http", listen, "blue")
}

func TestHTTPSListenerServesTheInternalCertificateOfTheHostAddress(t *testing.T) {
	admin, _ := startCaddy(t)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy"})
	port := serve(t, "127.0.0.2", "tls", true) // self-signed, as the TTS container
	listen := freePort(t)
	s := web("127.0.0.2", blueGreen, listen, port)
	s.Scheme = "https"
	expectExit(t, apply(t, client, admin, plan(s)), exitOK)
	var body string
	var err error
	for i := 0; i < 50; i++ { // the first handshake waits for the internal CA to issue the certificate
		if body, err = get(t, "https", listen); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if body != "release tls, POST, 8192 bytes\n" {
		t.Fatalf("answer %q, %v", body, err)
	}
	if _, err := get(t, "http", listen); err == nil {
		t.Fatal("plain HTTP was answered on the https listener")
	}
	// No SNI (an IP client), and 127.0.0.1 is not the host's address: the default certificate is tlsHost's.
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", listen), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.30.11.45" {
		t.Fatalf("certificate for %v %v, issued by %s", leaf.IPAddresses, leaf.DNSNames, leaf.Issuer)
	}
}

func TestHealthAndBadArguments(t *testing.T) {
	admin, _ := startCaddy(t)
	_, client := startDocker(t, map[string]string{})
	var log bytes.Buffer
	a := &agent{docker: client, caddy: newCaddy(admin), poll: time.Millisecond, out: io.Discard, log: &log}
	if code := a.run([]string{"health"}); code != 0 {
		t.Fatalf("health: %d %s", code, log.String())
	}
	down := &agent{docker: client, caddy: newCaddy(fmt.Sprintf("http://127.0.0.1:%d", freePort(t))), out: io.Discard, log: io.Discard}
	if code := down.run([]string{"health"}); code != 1 {
		t.Fatalf("health with no caddy: %d", code)
	}
	if code := down.run([]string{"upstreams"}); code != exitNotLoaded {
		t.Fatalf("upstreams with no caddy: %d", code)
	}
	var out bytes.Buffer
	up := &agent{caddy: newCaddy(admin), out: &out, log: io.Discard}
	if code := up.run([]string{"upstreams"}); code != 0 || strings.TrimSpace(out.String()) != `{"routes":{}}` {
		t.Fatalf("upstreams: %d %s", code, out.String())
	}
	for _, args := range [][]string{{}, {"apply"}, {"apply", "/nonexistent/plan.json"}, {"route"}, {"drain"}, {"drain", "/nonexistent/drain.json"}} {
		if code := a.run(args); code != exitUsage {
			t.Fatalf("%v: %d", args, code)
		}
	}
	file := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(file, []byte(`{"version":2,"stack":"e2e","switch":{"holdSeconds":-1,"streamCloseDelay":"soon"},`+
		`"services":[{"name":"tts","container":"tts-1","strategy":"green","waitSeconds":1,"drainSeconds":1,`+
		`"scheme":"https","ports":[{"listen":8055,"target":8000}]}]}`), 0o644)
	log.Reset()
	if code := a.run([]string{"apply", file}); code != exitUsage {
		t.Fatalf("bad plan: %d", code)
	}
	for _, want := range []string{"switch.holdSeconds: not in version 2 (each service has its hold)", `switch.streamCloseDelay: "soon"`,
		`services[0].strategy: "green"`, "services[0].scheme: https needs switch.tlsHost", "services[0].release: empty",
		"services[0].readiness: missing", "services[0].hold: missing"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("no %q in:\n%s", want, log.String())
		}
	}
}

func TestTheAgentUsesTheStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	if deps := strings.Fields(string(out)); len(deps) != 1 || deps[0] != "gpu-services/switch/cmd/gpu-switch" {
		t.Fatalf("non-standard packages: %v", deps)
	}
}

// keepAlive is one HTTP/1.1 client connection to the switch, kept open between requests (as CAAL's clients do).
type keepAlive struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialKeepAlive(t *testing.T, port int) *keepAlive {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keepAlive{conn: conn, r: bufio.NewReader(conn)}
}

// get sends a GET on the connection and returns the answer's body, or the error of the write or the read.
func (k *keepAlive) get() (string, error) {
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(k.conn, "GET / HTTP/1.1\r\nHost: switch\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.Close {
		return string(body), fmt.Errorf("the switch asked to close the connection (%d)", resp.StatusCode)
	}
	return string(body), err
}

// A release of an existing route must not restart Caddy's servers: a config load closes every idle keep-alive
// connection (net/http Shutdown), and a client that sends on one at that instant gets a reset.
func TestASwitchKeepsIdleKeepAliveConnectionsOpen(t *testing.T) {
	admin, _ := startCaddy(t)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "healthy"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	listen := freePort(t)
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue))), exitOK)

	conn := dialKeepAlive(t, listen)
	if body, err := conn.get(); err != nil || body != "release blue, GET, 0 bytes\n" {
		t.Fatalf("first GET: %q, %v", body, err)
	}
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green))), exitOK)
	time.Sleep(500 * time.Millisecond) // an old server's Shutdown runs in the background
	body, err := conn.get()
	if err != nil {
		t.Fatalf("the idle keep-alive connection did not survive the switch: %v", err)
	}
	if body != "release green, GET, 0 bytes\n" {
		t.Fatalf("the same connection after the switch: %q, want green's answer", body)
	}
}

func TestAReleaseIsATableUpdateAndAServiceChangeAReload(t *testing.T) {
	admin, _ := startCaddy(t)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "healthy", "127.0.0.4": "none"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	other := serve(t, "127.0.0.4", "other", false)
	listen, otherListen := freePort(t), freePort(t)
	zz := Service{Name: "zz", Container: "127.0.0.4", Strategy: stopThenStart, WaitSeconds: 1, Scheme: "http",
		Ports: []Port{{Listen: otherListen, Target: other}}}
	caddy := newCaddy(admin)

	r := apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, blue)))
	expectExit(t, r, exitOK)
	if !strings.Contains(r.log, "config loaded") {
		t.Fatalf("the first push did not load a config:\n%s", r.log)
	}
	before, _ := caddy.Config()

	// A release: the config stays byte for byte, the table moves the route.
	r = apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green)))
	expectExit(t, r, exitOK)
	if !strings.Contains(r.log, "config unchanged: no reload") || strings.Contains(r.log, "config loaded") {
		t.Fatalf("a release reloaded the switch:\n%s", r.log)
	}
	after, _ := caddy.Config()
	if !bytes.Equal(before, after) {
		t.Fatalf("the live config changed:\n%s\n%s", before, after)
	}
	expectRelease(t, "http", listen, "green")
	table, _ := caddy.Table()
	equal(t, "table", dialsOf(table), map[string]string{routeID("web", listen): fmt.Sprintf("127.0.0.3:%d", green)})

	// A new service: a reload, and its route serves at once; then its removal drops its entry.
	r = apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green), zz))
	expectExit(t, r, exitOK)
	if !strings.Contains(r.log, "config loaded") {
		t.Fatalf("a new service did not load a config:\n%s", r.log)
	}
	expectRelease(t, "http", otherListen, "other")
	expectRelease(t, "http", listen, "green")
	r = apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green)))
	expectExit(t, r, exitOK)
	if _, err := get(t, "http", otherListen); err == nil {
		t.Fatal("the removed service still answers")
	}
	table, _ = caddy.Table()
	equal(t, "table", dialsOf(table), map[string]string{routeID("web", listen): fmt.Sprintf("127.0.0.3:%d", green)})
}

// The first push of this agent to a switch that an older agent configured (static upstreams, no table):
// one load to the table's config, with each route kept on its live dial until the table moves it.
func TestAnOldStyleConfigIsReplacedAndAFailedReleaseKeepsItsStaticUpstream(t *testing.T) {
	admin, _ := startCaddy(t)
	docker, client := startDocker(t, map[string]string{"127.0.0.2": "healthy", "127.0.0.3": "starting"})
	blue, green := serve(t, "127.0.0.2", "blue", false), serve(t, "127.0.0.3", "green", false)
	listen := freePort(t)
	caddy := newCaddy(admin)
	live, _ := caddy.Live()
	id := routeID("web", listen)
	old := fmt.Sprintf(`{"admin":%s,"apps":{"http":{"servers":{%q:{"listen":[":%d"],"routes":[{"@id":%q,`+
		`"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.2:%d"}]}],"terminal":true}],`+
		`"automatic_https":{"disable":true}}}}}}`, live.admin, id, listen, id, blue)
	if body, code, err := caddy.do("POST", "/load", []byte(old)); err != nil || code != 200 {
		t.Fatalf("loading an old-style config: %d %s %v", code, body, err)
	}
	expectRelease(t, "http", listen, "blue")

	// green never turns healthy: it is removed, and web keeps the static upstream of the old config.
	r := apply(t, client, admin, plan(web("127.0.0.3", blueGreen, listen, green)))
	expectExit(t, r, exitNotSwitched)
	equal(t, "summary", r.summary, Summary{Switched: []string{}, Failed: []string{"web"}, Kept: []string{"web"}})
	equal(t, "removed", docker.removed, []string{"127.0.0.3"})
	if !strings.Contains(r.log, "config loaded") {
		t.Fatalf("the old-style config was not replaced:\n%s", r.log)
	}
	expectRelease(t, "http", listen, "blue")
	now, _ := caddy.Config()
	if !strings.Contains(string(now), `"dynamic_upstreams"`) || strings.Contains(string(now), `"upstreams"`) {
		t.Fatalf("the live config: %s", now)
	}
	table, _ := caddy.Table()
	equal(t, "table", dialsOf(table), map[string]string{id: fmt.Sprintf("127.0.0.2:%d", blue)})
}

// fakeCaddy is an admin API that answers GET /config/ with a config of ours and the table as told.
func fakeCaddy(t *testing.T, tableGet func(w http.ResponseWriter), tablePost func(w http.ResponseWriter)) string {
	t.Helper()
	mux := http.NewServeMux()
	var mu sync.Mutex
	config := []byte("null")
	mux.HandleFunc("GET /config/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Write(config)
	})
	mux.HandleFunc("POST /load", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		config, _ = io.ReadAll(r.Body)
	})
	mux.HandleFunc("GET /gpu-switch/upstreams", func(w http.ResponseWriter, r *http.Request) { tableGet(w) })
	mux.HandleFunc("POST /gpu-switch/upstreams", func(w http.ResponseWriter, r *http.Request) { tablePost(w) })
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	return server.URL
}

func TestATableThatIsMissingOrOldOrRefusesOrDiffersExits4(t *testing.T) {
	_, client := startDocker(t, map[string]string{"web-1": "healthy"})
	p := plan(web("web-1", blueGreen, 8000, 8000))
	ready := func(id string) string {
		return `"` + id + `":{"dial":"web-1:8000","next":null,"state":"ready","release":"","inflight":0}`
	}
	for what, c := range map[string]struct {
		get, post func(w http.ResponseWriter)
		want      string
	}{
		"no table (an older caddy)": {
			get:  func(w http.ResponseWriter) { http.NotFound(w, nil) },
			want: "this switch's caddy has no route table",
		},
		"a table without readiness (an older caddy)": {
			get:  func(w http.ResponseWriter) { w.Write([]byte(`{"routes":{"web-8000":"web-1:8000"}}`)) },
			want: `route web-8000 is "web-1:8000", not a route with a state: this switch's caddy has no readiness`,
		},
		"refused": {
			get:  func(w http.ResponseWriter) { w.Write([]byte(`{"routes":{}}`)) },
			post: func(w http.ResponseWriter) { http.Error(w, `{"error":"disk full"}`, 500) },
			want: "the switch did not take the route table: POST /gpu-switch/upstreams: 500",
		},
		"answers something else": {
			get: func(w http.ResponseWriter) {
				w.Write([]byte(`{"routes":{` + ready("web-8000") + `,` + ready("zz-1") + `}}`))
			},
			post: func(w http.ResponseWriter) {
				w.Write([]byte(`{"routes":{` + ready("web-8000") + `,` + ready("zz-1") + `}}`))
			},
			want: "the switch's route table is not what was set: it answers web-8000 -> web-1:8000, zz-1 -> web-1:8000, want web-8000 -> web-1:8000",
		},
	} {
		t.Run(what, func(t *testing.T) {
			r := apply(t, client, fakeCaddy(t, c.get, c.post), p)
			if r.code != exitNotLoaded || !strings.Contains(r.log, c.want) {
				t.Fatalf("exit %d, want 4 with %q:\n%s", r.code, c.want, r.log)
			}
		})
	}
}
