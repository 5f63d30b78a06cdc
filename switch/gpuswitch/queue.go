package gpuswitch

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// ticket lets one try of a request go to a route's dial; release gives it back.
type ticket struct {
	// rt is the pool member chosen (the route itself, without copies); its counters count the try.
	rt   *route
	dial string
	// hold is the budget of the route the request arrived at.
	hold HoldBudget
}

// refusal is a request the hold lets go without a try: shed (503 with Retry-After), or its client is gone.
type refusal struct {
	retryAfter int
	why        string
	gone       bool
}

// waiter is one request's way through the hold, over all its tries.
type waiter struct {
	id      string
	started time.Time
	ctx     context.Context
	// held: the request waited once already (Held counts each request once).
	held bool
}

// acquire waits until a member of the route's pool is ready and takes a ticket to the one with the fewest
// requests in flight (pick), or refuses: past the hold budget (counted from the request's arrival, over all its
// tries), the queue full, no route, or the client gone. The route's own entry and counters hold the request: its
// budget, queue, Retry-After and Holding, whichever member serves it.
func (wt *waiter) acquire() (ticket, *refusal) {
	table.mu.Lock()
	var holding *route // the route whose Holding counts this request now
	defer func() {
		if holding != nil {
			holding.counters.Holding--
		}
		table.mu.Unlock()
	}()
	for {
		rt := lookup(wt.id)
		if rt == nil {
			return ticket{}, &refusal{retryAfter: 1, why: "the switch's table has no such route"}
		}
		if m := pick(rt); m != nil {
			m.inflight[m.entry.Dial]++
			m.counters.InFlight++
			return ticket{rt: m, dial: m.entry.Dial, hold: rt.entry.Hold}, nil
		}
		if holding != rt {
			if holding != nil {
				holding.counters.Holding--
				holding = nil
			}
			if rt.counters.Holding >= rt.entry.Hold.Queue {
				return ticket{}, rt.shed(fmt.Sprintf("%d requests held already (hold.queue)", rt.counters.Holding))
			}
			rt.counters.Holding++
			holding = rt
			if !wt.held {
				wt.held = true
				rt.counters.Held++
			}
		}
		left := time.Until(wt.started.Add(time.Duration(rt.entry.Hold.Seconds) * time.Second))
		if left <= 0 {
			return ticket{}, rt.shed(fmt.Sprintf("held for the whole budget, %d s (hold.seconds)", rt.entry.Hold.Seconds))
		}
		ready, changed := rt.ready, poolChanged()
		table.mu.Unlock()
		timer := time.NewTimer(left)
		select {
		case <-ready:
		case <-changed:
		case <-timer.C:
		case <-wt.ctx.Done():
		}
		timer.Stop()
		table.mu.Lock()
		if wt.ctx.Err() != nil {
			return ticket{}, &refusal{gone: true, why: "the client went away while held"}
		}
	}
}

// shed counts a request refused while the route is not ready; table.mu is held.
func (rt *route) shed(why string) *refusal {
	rt.counters.Shed++
	rt.counters.Requests.add(http.StatusServiceUnavailable)
	return &refusal{retryAfter: rt.retryAfter(time.Now()), why: fmt.Sprintf("%s is %s: %s", rt.id, rt.state, why)}
}

// answer writes the 503 with Retry-After of a shed request (nothing for a client that is gone), on the headers
// the response had before any try.
func (f *refusal) answer(w http.ResponseWriter, base http.Header) error {
	if f.gone {
		return nil
	}
	h := w.Header()
	clear(h)
	maps.Copy(h, base)
	h.Set("Retry-After", strconv.Itoa(f.retryAfter))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, "%s; retry in %d s\n", f.why, f.retryAfter)
	return nil
}

// release ends a try: the dial's request in flight is done, the answer is counted, and a try that no copy
// answered, or a 503 from the copy, marks the route not ready (a passive failure).
func (t ticket) release(kind outcome, status int, why string) {
	table.mu.Lock()
	defer table.mu.Unlock()
	rt := t.rt
	if rt.inflight[t.dial]--; rt.inflight[t.dial] <= 0 {
		delete(rt.inflight, t.dial)
	}
	rt.counters.InFlight--
	switch {
	case kind == answered && status == http.StatusServiceUnavailable:
		rt.counters.Requests.add(status)
		rt.failed(t.dial, "the copy answered 503")
	case kind == answered && status > 0:
		rt.counters.Requests.add(status)
	case kind != answered && kind != clientGone:
		rt.failed(t.dial, why)
	}
}

// count adds an answer the client got without a try's own status (an error the server writes); table.mu is free.
func (t ticket) count(status int) {
	table.mu.Lock()
	defer table.mu.Unlock()
	t.rt.counters.Requests.add(status)
}

// replayed counts a request sent again.
func (t ticket) replayed(r *http.Request, why string, try int) {
	table.mu.Lock()
	t.rt.counters.Replayed++
	table.mu.Unlock()
	logger().Info("request sent again", zap.String("route", t.rt.id), zap.String("method", r.Method),
		zap.String("uri", r.RequestURI), zap.Int("try", try+1), zap.String("why", why))
}
