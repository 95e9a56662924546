//! Work on thousands of programmes split over two threads: the station PC has two cores,
//! and checking a large schedule is the one CPU-bound step a technician waits for.

/// `f(0), f(1), … f(n - 1)` in order; on two threads from `min` items up, where a
/// thread's start (~30 µs) is small beside the work.
pub fn map<T: Send>(n: usize, min: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if n < min.max(2) {
        return (0..n).map(f).collect();
    }
    let half = n / 2;
    std::thread::scope(|sc| {
        let f = &f;
        let later = sc.spawn(move || (half..n).map(f).collect::<Vec<T>>());
        let mut out: Vec<T> = (0..half).map(f).collect();
        match later.join() {
            Ok(rest) => out.extend(rest),
            // A panic in the other half is re-raised here, as if on one thread.
            Err(p) => std::panic::resume_unwind(p),
        }
        out
    })
}

/// `(map(n, min, f), beside())`: `beside` runs on this thread while a second one starts on
/// the items; then both share what is left. For work that must stay on this thread (it
/// holds `&mut` state) beside a batch that need not.
pub fn map_beside<T: Send, R>(
    n: usize,
    min: usize,
    f: impl Fn(usize) -> T + Sync,
    beside: impl FnOnce() -> R,
) -> (Vec<T>, R) {
    if n < min.max(2) {
        let r = beside();
        return ((0..n).map(f).collect(), r);
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Takes the next item not yet taken, until none are left.
    let pull = || {
        let mut got = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= n {
                return got;
            }
            got.push((i, f(i)));
        }
    };
    std::thread::scope(|sc| {
        let helper = sc.spawn(pull);
        let r = beside();
        let mut all = pull();
        match helper.join() {
            Ok(theirs) => all.extend(theirs),
            Err(p) => std::panic::resume_unwind(p),
        }
        all.sort_unstable_by_key(|(i, _)| *i);
        (all.into_iter().map(|(_, t)| t).collect(), r)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn beside_runs_here_and_the_items_come_back_in_order() {
        let here = std::thread::current().id();
        for n in [0, 1, 5, 300, 1001] {
            let want: Vec<usize> = (0..n).map(|i| i * 3).collect();
            let mut state = Vec::new();
            let (got, r) = super::map_beside(
                n,
                256,
                |i| i * 3,
                || {
                    state.push(std::thread::current().id());
                    n + 1
                },
            );
            assert_eq!(got, want, "n = {n}");
            assert_eq!(r, n + 1);
            assert_eq!(state, [here], "beside runs once, on the calling thread");
        }
    }

    #[test]
    fn in_order_on_one_or_two_threads() {
        for n in [0, 1, 5, 300, 1001] {
            let want: Vec<usize> = (0..n).map(|i| i * 3).collect();
            assert_eq!(super::map(n, 256, |i| i * 3), want, "n = {n}");
            assert_eq!(super::map(n, 0, |i| i * 3), want, "n = {n}");
        }
    }
}
