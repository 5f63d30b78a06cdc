package gpuswitch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// The history keeps the routes' counters over time on the host, so that `gpu-services metrics` can draw the last
// hour with no Prometheus: every interval the switch appends a sample (one JSON line) to a file in its volume,
// beside the route table. The files are a ring bounded in bytes: when the current file would pass half the bound
// it becomes the older file (the previous older one is dropped), so the two never hold more than the bound. The
// counters themselves start at zero with each process (Boot tells the samples of one process from the next).

const (
	// HistoryPath answers the samples: GET /gpu-switch/history?seconds=3600 (0: all that is kept).
	HistoryPath = "/gpu-switch/history"
	// HistoryFile is the current file; HistoryFile with ".1" before its extension is the older one.
	HistoryFile = "gpu-switch-history.jsonl"
	// HistoryIntervalEnv and HistoryBytesEnv override the interval (a Go duration) and the bound on the files.
	HistoryIntervalEnv = "GPU_SWITCH_HISTORY_INTERVAL"
	HistoryBytesEnv    = "GPU_SWITCH_HISTORY_BYTES"

	defaultHistoryInterval = 10 * time.Second
	// defaultHistoryBytes keeps about 40 hours of two routes at the default interval (a sample of a route is
	// about 300 bytes).
	defaultHistoryBytes = 8 << 20
)

// Sample is the table's counters at one moment.
type Sample struct {
	T time.Time `json:"t"`
	// Boot is when the switch process that took the sample started: its counters count from then.
	Boot   time.Time              `json:"boot"`
	Routes map[string]RouteSample `json:"routes"`
}

// RouteSample is one route in a sample.
type RouteSample struct {
	State   State  `json:"state"`
	Release string `json:"release"`
	Counters
	Latency Latency `json:"latency"`
}

// ring is the samples of the two files, in memory as on disk.
type ring struct {
	mu            sync.Mutex
	path          string
	maxBytes      int64
	older, newest []Sample
	size          int64 // bytes of the current file
}

func olderPath(path string) string {
	ext := filepath.Ext(path)
	return path[:len(path)-len(ext)] + ".1" + ext
}

// openRing reads the files kept in dir (none: an empty ring).
func openRing(dir string, maxBytes int64) (*ring, error) {
	r := &ring{path: filepath.Join(dir, HistoryFile), maxBytes: maxBytes}
	var err error
	if r.older, _, err = readSamples(olderPath(r.path)); err != nil {
		return nil, err
	}
	if r.newest, r.size, err = readSamples(r.path); err != nil {
		return nil, err
	}
	return r, nil
}

// readSamples reads a file of samples. A line cut short (the process ended within a write) is cut off the file,
// so that the next sample starts a line of its own; a line that is not a sample is skipped.
func readSamples(path string) ([]Sample, int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if end := bytes.LastIndexByte(data, '\n') + 1; end < len(data) {
		data = data[:end]
		if err := os.Truncate(path, int64(end)); err != nil {
			return nil, 0, err
		}
	}
	var samples []Sample
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	for scanner.Scan() {
		var s Sample
		if json.Unmarshal(scanner.Bytes(), &s) == nil && !s.T.IsZero() {
			samples = append(samples, s)
		}
	}
	return samples, int64(len(data)), nil
}

// add appends a sample, turning the current file into the older one first when it would pass half the bound.
// The sample is kept in memory even when the write fails (the error says so).
func (r *ring) add(s Sample) error {
	line, err := json.Marshal(s)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	var rotateErr error
	if r.size > 0 && r.size+int64(len(line)) > r.maxBytes/2 {
		rotateErr = os.Rename(r.path, olderPath(r.path))
		r.older, r.newest, r.size = r.newest, nil, 0
	}
	r.newest = append(r.newest, s)
	r.size += int64(len(line))
	return errors.Join(rotateErr, appendFile(r.path, line))
}

func appendFile(path string, line []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	return errors.Join(err, f.Close())
}

// since returns the samples taken at or after t, oldest first.
func (r *ring) since(t time.Time) []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Sample{}
	for _, list := range [][]Sample{r.older, r.newest} {
		for _, s := range list {
			if !s.T.Before(t) {
				out = append(out, s)
			}
		}
	}
	return out
}

// takeSample reads the table's counters now.
func takeSample(now, boot time.Time) Sample {
	routes := map[string]RouteSample{}
	for id, s := range snapshot() {
		routes[id] = RouteSample{State: s.State, Release: s.Release, Counters: s.Counters, Latency: s.Latency}
	}
	return Sample{T: now.UTC(), Boot: boot.UTC(), Routes: routes}
}

// history is the process's sampler, started once with the admin endpoint.
var history struct {
	once     sync.Once
	mu       sync.Mutex
	ring     *ring
	interval time.Duration
	boot     time.Time
}

// startHistory reads the kept samples and samples the table every interval, from now until the process ends. A
// history that cannot be read is logged and started empty; the switch serves either way.
func startHistory(logger *zap.Logger) {
	history.once.Do(func() {
		interval, maxBytes := historySettings(logger)
		r, err := openRing(caddy.AppConfigDir(), maxBytes)
		if err != nil {
			logger.Error("gpu_switch: the history files are unreadable; starting an empty history", zap.Error(err))
			r = &ring{path: filepath.Join(caddy.AppConfigDir(), HistoryFile), maxBytes: maxBytes}
		}
		history.mu.Lock()
		history.ring, history.interval, history.boot = r, interval, time.Now()
		history.mu.Unlock()
		go sampleEvery(r, interval, history.boot, logger)
	})
}

func sampleEvery(r *ring, interval time.Duration, boot time.Time, logger *zap.Logger) {
	failing := false
	for now := range time.Tick(interval) {
		s := takeSample(now, boot)
		if len(s.Routes) == 0 {
			continue
		}
		err := r.add(s)
		if err != nil && !failing {
			logger.Error("gpu_switch: a history sample was not written (it is kept in memory)", zap.Error(err))
		}
		failing = err != nil
	}
}

// historySettings reads the interval and the bound from the environment, where set and valid.
func historySettings(logger *zap.Logger) (time.Duration, int64) {
	interval, maxBytes := defaultHistoryInterval, int64(defaultHistoryBytes)
	if v := os.Getenv(HistoryIntervalEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 100*time.Millisecond {
			interval = d
		} else {
			logger.Warn("gpu_switch: "+HistoryIntervalEnv+" is not a duration of at least 100ms; using the default",
				zap.String("value", v), zap.Duration("default", interval))
		}
	}
	if v := os.Getenv(HistoryBytesEnv); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 64<<10 {
			maxBytes = n
		} else {
			logger.Warn("gpu_switch: "+HistoryBytesEnv+" is not a number of bytes of at least 65536; using the default",
				zap.String("value", v), zap.Int64("default", maxBytes))
		}
	}
	return interval, maxBytes
}

// HistoryView is the body GET /gpu-switch/history answers.
type HistoryView struct {
	IntervalSeconds float64 `json:"intervalSeconds"`
	// LatencyBuckets are the upper bounds of Latency.Counts (a last count for the slower requests).
	LatencyBuckets []float64 `json:"latencyBuckets"`
	// Now is a sample taken for this answer: the counters as they are.
	Now     Sample   `json:"now"`
	Samples []Sample `json:"samples"`
}

func errMethod(method string) error { return fmt.Errorf("method %s not allowed", method) }

// handleHistory answers GET /gpu-switch/history?seconds=N: the samples of the last N seconds (default 3600; 0: all).
func (Admin) handleHistory(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethod(r.Method)}
	}
	seconds := 3600
	if v := r.URL.Query().Get("seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest(fmt.Errorf("GET %s: seconds=%q is not a whole number of seconds", HistoryPath, v))
		}
		seconds = n
	}
	history.mu.Lock()
	rg, interval, boot := history.ring, history.interval, history.boot
	history.mu.Unlock()
	now := time.Now()
	view := HistoryView{IntervalSeconds: interval.Seconds(), LatencyBuckets: LatencyBuckets[:],
		Now: takeSample(now, boot), Samples: []Sample{}}
	if rg != nil {
		from := time.Time{}
		if seconds > 0 {
			from = now.Add(-time.Duration(seconds) * time.Second)
		}
		view.Samples = rg.since(from)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(view)
}
