package main

// gpu-switch metrics and history against a real Caddy with the gpuswitch modules: the counters of requests sent
// through it, and a history that outlives a restart of the switch.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSampling runs Caddy in dir (kept across restarts) with the history sampled every 200 ms; the returned
// function stops it.
func startSampling(t *testing.T, dir, admin string) func() {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "bootstrap.json"), []byte(`{"admin":{"listen":"`+strings.TrimPrefix(admin, "http://")+`"}}`), 0o644)
	cmd := exec.Command(caddyBin, "run", "--resume", "--config", filepath.Join(dir, "bootstrap.json"))
	cmd.Env = []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir + "/config", "XDG_DATA_HOME=" + dir + "/data",
		"GPU_SWITCH_HISTORY_INTERVAL=200ms"}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("caddy's log:\n%s", logs.String())
		}
	})
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

type historyAnswer struct {
	IntervalSeconds float64 `json:"intervalSeconds"`
	Now             sampled `json:"now"`
	Samples         []sampled
}

type sampled struct {
	T      time.Time `json:"t"`
	Boot   time.Time `json:"boot"`
	Routes map[string]struct {
		Requests map[string]uint64 `json:"requests"`
		Latency  struct {
			Counts []uint64 `json:"counts"`
		} `json:"latency"`
	} `json:"routes"`
}

func runObserve(t *testing.T, admin string, args ...string) (int, string) {
	t.Helper()
	var out, log bytes.Buffer
	a := &agent{caddy: newCaddy(admin), out: &out, log: &log}
	code := a.run(args)
	return code, out.String() + log.String()
}

func readHistory(t *testing.T, admin, seconds string) historyAnswer {
	t.Helper()
	code, out := runObserve(t, admin, "history", seconds)
	var h historyAnswer
	if code != exitOK || json.Unmarshal([]byte(out), &h) != nil {
		t.Fatalf("history %s: exit %d: %s", seconds, code, out)
	}
	return h
}

func TestMetricsAndHistoryCountTheRequestsAndTheHistoryOutlivesARestart(t *testing.T) {
	dir := t.TempDir()
	admin := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	stop := startSampling(t, dir, admin)
	_, client := startDocker(t, map[string]string{"127.0.0.2": "healthy"})
	listen := freePort(t)
	expectExit(t, apply(t, client, admin, plan(web("127.0.0.2", blueGreen, listen, serve(t, "127.0.0.2", "blue", false)))), exitOK)
	for range 5 {
		expectRelease(t, "http", listen, "blue")
	}
	route := fmt.Sprintf("web-%d", listen)
	code, text := runObserve(t, admin, "metrics")
	for _, want := range []string{
		fmt.Sprintf(`gpu_switch_requests_total{class="2xx",route=%q,service="web"} 5`, route),
		fmt.Sprintf(`gpu_switch_request_duration_seconds_count{route=%q,service="web"} 5`, route),
		fmt.Sprintf(`gpu_switch_route_state{route=%q,service="web",state="ready"} 1`, route),
	} {
		if code != exitOK || !strings.Contains(text, want+"\n") {
			t.Fatalf("metrics: exit %d, no %q in:\n%s", code, want, text)
		}
	}
	time.Sleep(600 * time.Millisecond)
	before := readHistory(t, admin, "60")
	if n := len(before.Samples); n < 2 || before.IntervalSeconds != 0.2 || before.Samples[n-1].Routes[route].Requests["2xx"] != 5 ||
		before.Now.Routes[route].Requests["2xx"] != 5 || len(before.Now.Routes[route].Latency.Counts) != 15 {
		t.Fatalf("history: %+v", before)
	}

	stop()
	startSampling(t, dir, admin)
	after := readHistory(t, admin, "0")
	if len(after.Samples) < len(before.Samples) || !after.Samples[len(before.Samples)-1].T.Equal(before.Samples[len(before.Samples)-1].T) {
		t.Fatalf("the samples before the restart are gone: %d then %d", len(before.Samples), len(after.Samples))
	}
	if after.Now.Boot.Equal(before.Now.Boot) || after.Now.Routes[route].Requests["2xx"] != 0 {
		t.Fatalf("a new process counts from zero, with its own boot: %+v", after.Now)
	}
	for _, args := range [][]string{{"history", "-1"}, {"history", "x"}, {"metrics", "1"}} {
		if code, _ := runObserve(t, admin, args...); code != exitUsage {
			t.Fatalf("%v: exit %d", args, code)
		}
	}
	a := &agent{caddy: newCaddy(fmt.Sprintf("http://127.0.0.1:%d", freePort(t))), out: io.Discard, log: io.Discard}
	if code := a.run([]string{"metrics"}); code != exitNotLoaded {
		t.Fatalf("metrics with no switch: %d", code)
	}
}
