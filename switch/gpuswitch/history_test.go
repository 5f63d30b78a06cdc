package gpuswitch

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

func sampleAt(t0 time.Time, i int) Sample {
	return Sample{T: t0.Add(time.Duration(i) * time.Second), Boot: t0, Routes: map[string]RouteSample{
		"stt-8060": {State: Ready, Release: "r1", Counters: Counters{Requests: StatusClasses{C2xx: uint64(i)}}},
	}}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// twos is the 2xx count of each sample: the sample's number in sampleAt.
func twos(samples []Sample) []uint64 {
	out := []uint64{}
	for _, s := range samples {
		out = append(out, s.Routes["stt-8060"].Requests.C2xx)
	}
	return out
}

func TestTheHistoryFilesStayWithinTheirBoundAndKeepTheNewestSamples(t *testing.T) {
	dir := t.TempDir()
	const bound = 4096
	r, err := openRing(dir, bound)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	for i := range 200 {
		if err := r.add(sampleAt(t0, i)); err != nil {
			t.Fatal(err)
		}
		if size := fileSize(t, r.path) + fileSize(t, olderPath(r.path)); size > bound {
			t.Fatalf("after %d samples the files hold %d bytes, over %d", i+1, size, bound)
		}
	}
	kept := twos(r.since(time.Time{}))
	if len(kept) < 10 || kept[len(kept)-1] != 199 { // at least the older file's half of the bound
		t.Fatalf("kept %v", kept)
	}
	for i := 1; i < len(kept); i++ {
		if kept[i] != kept[i-1]+1 {
			t.Fatalf("the samples kept are not the newest in order: %v", kept)
		}
	}
	equal(t, "the last 10 s", twos(r.since(t0.Add(190*time.Second))), []uint64{190, 191, 192, 193, 194, 195, 196, 197, 198, 199})

	// A restarted switch reads back the same samples, in the same files.
	again, err := openRing(dir, bound)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "read back", twos(again.since(time.Time{})), kept)
	equal(t, "size", again.size, r.size)
}

func TestASampleCutShortByACrashIsDroppedAndTheNextOneIsReadable(t *testing.T) {
	dir := t.TempDir()
	r, _ := openRing(dir, 1<<20)
	t0 := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	r.add(sampleAt(t0, 1))
	r.add(sampleAt(t0, 2))
	f, _ := os.OpenFile(r.path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"t":"2026-07-01T09:00:03Z","routes":{"stt-80`)
	f.Close()
	again, err := openRing(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	again.add(sampleAt(t0, 4))
	third, _ := openRing(dir, 1<<20)
	equal(t, "samples", twos(third.since(time.Time{})), []uint64{1, 2, 4})
	if data, _ := os.ReadFile(r.path); data[len(data)-1] != '\n' {
		t.Fatalf("the file does not end a line: %q", data)
	}
}

func TestHistoryAnswersTheSamplesOfTheWindowAndTheCountersNow(t *testing.T) {
	fresh(t)
	ensureLoaded(zap.NewNop())
	post(t, `{"routes":{"stt-8060":`+tcpEntry(listen(t))+`}}`)
	dir := t.TempDir()
	r, _ := openRing(dir, 1<<20)
	now := time.Now().UTC()
	for i := range 5 {
		r.add(sampleAt(now.Add(-time.Hour), i*900)) // 0, 15, 30, 45 and 60 min before now
	}
	history.mu.Lock()
	history.ring, history.interval, history.boot = r, 10*time.Second, now.Add(-2*time.Hour)
	history.mu.Unlock()
	t.Cleanup(func() {
		history.mu.Lock()
		history.ring, history.interval, history.boot = nil, 0, time.Time{}
		history.mu.Unlock()
	})
	for query, want := range map[string][]uint64{"": {900, 1800, 2700, 3600}, "?seconds=1000": {2700, 3600}, "?seconds=0": {0, 900, 1800, 2700, 3600}} {
		w := call(t, Admin{}.handleHistory, http.MethodGet, HistoryPath+query, "")
		var v HistoryView
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("GET %s: %d %s", query, w.Code, w.Body)
		}
		equal(t, "samples of "+query, twos(v.Samples), want)
		if _, ok := v.Now.Routes["stt-8060"]; !ok || v.IntervalSeconds != 10 || len(v.LatencyBuckets) != len(LatencyBuckets) || !v.Now.Boot.Equal(history.boot) {
			t.Fatalf("GET %s: %s", query, w.Body)
		}
	}
	if w := call(t, Admin{}.handleHistory, http.MethodGet, HistoryPath+"?seconds=-5", ""); w.Code != 400 {
		t.Fatalf("seconds=-5: %d %s", w.Code, w.Body)
	}
	if _, err := os.Stat(filepath.Join(dir, HistoryFile)); err != nil {
		t.Fatal(err)
	}
}
