package gpuswitch

// A pool is the copies of one service on a host: the route whose id the hold handler names (the first copy's,
// `stt-8060`) and every route whose entry names it as its pool (`stt-8060.1`, `stt-8060.2`). Requests arrive at
// the first copy's listener and go to a ready member. Each member keeps its own state, prober and counters: a
// member that fails a try is loading, out of the pool, until its readiness check passes again.

// pick is the ready member of head's pool with the fewest requests in flight, or nil when none is ready. Members
// with as many in flight take turns: the one chosen longest ago wins. Fewest in flight, not round-robin: a long
// transcription keeps its copy busy, and turns would queue the next request behind it while another copy idles.
// table.mu is held.
func pick(head *route) *route {
	var best *route
	consider := func(rt *route) {
		if rt.state != Ready {
			return
		}
		if best == nil || rt.counters.InFlight < best.counters.InFlight ||
			rt.counters.InFlight == best.counters.InFlight && rt.picked < best.picked {
			best = rt
		}
	}
	consider(head)
	for _, rt := range table.routes {
		if rt != head && rt.entry.Pool == head.id {
			consider(rt)
		}
	}
	if best != nil {
		table.picks++
		best.picked = table.picks
	}
	return best
}

// poolChanged is the channel closed at the next route that becomes ready, or the next table update: a request
// held for a pool waits on it, as any member may be the one. table.mu is held.
func poolChanged() <-chan struct{} {
	if table.changed == nil {
		table.changed = make(chan struct{})
	}
	return table.changed
}

// wakePools lets every request held for a pool look again; table.mu is held.
func wakePools() {
	if table.changed != nil {
		close(table.changed)
		table.changed = nil
	}
}

// poolCounts counts each pool's members and its ready ones, by the pool's route id (each route is a pool of
// its own and its members), from a snapshot of the table.
func poolCounts(routes map[string]RouteSnapshot) (members, ready map[string]int) {
	members, ready = map[string]int{}, map[string]int{}
	for id, s := range routes {
		pool := id
		if s.Pool != "" {
			pool = s.Pool
		}
		members[pool]++
		if s.State == Ready {
			ready[pool]++
		}
	}
	return members, ready
}
