package gpuswitch

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// The prober of a route checks its copies while they need it: the dial while the route is loading, and the next
// copy while there is one. A ready route is not checked (a POST check may be a real transcription, which should
// not load the GPU every few seconds); it stays ready until a try fails (a passive failure, see HoldHandler).

// job is one round of checks: what to check, with which readiness, at which generation of the route.
type job struct {
	gen       uint64
	readiness Readiness
	body      []byte
	dial      string // "" when the dial is not checked
	next      string // "" when there is no next copy
}

// probe is the route's prober, one goroutine per route, until the route is removed.
func (rt *route) probe() {
	for {
		table.mu.Lock()
		j, wait := rt.plan(time.Now())
		table.mu.Unlock()
		if j.dial == "" && j.next == "" {
			if !rt.sleep(wait) {
				return
			}
			continue
		}
		dialErr, nextErr := j.run()
		table.mu.Lock()
		promoted := false
		if table.routes[rt.id] == rt && rt.gen == j.gen {
			promoted = rt.record(j, dialErr, nextErr)
		}
		table.mu.Unlock()
		if promoted {
			persistNow()
		}
		if !rt.sleep(time.Duration(j.readiness.IntervalMs) * time.Millisecond) {
			return
		}
	}
}

// sleep waits for d (forever when d is 0), or until the prober is woken; false once the route is removed.
func (rt *route) sleep(d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-rt.stop:
		return false
	case <-rt.wake:
	case <-timeout:
	}
	return true
}

// plan says what to check now, or how long to wait before looking again (0: until woken). A drained route is
// not checked; once drainedUntil passes, it is loading again (an up that failed between the drain and its push
// heals when a copy answers). table.mu is held.
func (rt *route) plan(now time.Time) (job, time.Duration) {
	if rt.state == Drained {
		if now.Before(rt.drainedUntil) {
			return job{}, rt.drainedUntil.Sub(now)
		}
		rt.setState(Loading, "drained for too long: checked again")
	}
	j := job{gen: rt.gen, readiness: rt.entry.Readiness, body: rt.entry.body, next: rt.entry.Next}
	if rt.state == Loading {
		j.dial = rt.entry.Dial
	}
	return j, 0
}

// run checks the dial and the next copy, at once.
func (j job) run() (dialErr, nextErr error) {
	done := make(chan struct{})
	if j.next != "" {
		go func() {
			defer close(done)
			nextErr = check(j.readiness, j.body, j.next)
		}()
	} else {
		close(done)
	}
	if j.dial != "" {
		dialErr = check(j.readiness, j.body, j.dial)
	}
	<-done
	return dialErr, nextErr
}

// record counts the checks' results; true when the next copy was promoted. table.mu is held.
func (rt *route) record(j job, dialErr, nextErr error) bool {
	need := j.readiness.Passes
	if j.dial != "" {
		if dialErr == nil {
			rt.passes++
		} else {
			rt.passes, rt.lastFailure = 0, dialErr.Error()
		}
		if rt.passes >= need {
			rt.setState(Ready, "")
		}
	}
	if j.next == "" {
		return false
	}
	if nextErr != nil {
		rt.nextPasses, rt.lastFailure = 0, "next: "+nextErr.Error()
		return false
	}
	rt.nextPasses++
	if rt.nextPasses < need || rt.state == Drained {
		return false
	}
	rt.promote()
	return true
}

// probeClient makes checks on a new connection each (a check proves that the copy accepts one), and does not
// verify a copy's certificate (the proxy does not either: copies serve self-signed ones).
var probeClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// check runs one readiness check of the copy at dial: nil when it passes.
func check(r Readiness, body []byte, dial string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.TimeoutMs)*time.Millisecond)
	defer cancel()
	addr := r.target(dial)
	if r.Kind == kindTCP {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	u := url.URL{Scheme: r.Scheme, Host: addr, Path: r.Path}
	if parsed, err := url.Parse(r.Path); err == nil { // a path may carry a query
		u.Path, u.RawQuery = parsed.Path, parsed.RawQuery
	}
	var reader io.Reader
	if len(body) > 0 {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), reader)
	if err != nil {
		return err
	}
	for name, value := range r.Headers {
		req.Header.Set(name, value)
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	}
	req.Header.Set("User-Agent", "gpu-switch-readiness")
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if !r.passes(resp.StatusCode) {
		return fmt.Errorf("%s %s answered %d", r.Method, r.Path, resp.StatusCode)
	}
	return nil
}
