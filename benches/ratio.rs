//! Ratios against the floor, measured paired and interleaved so that they hold on a busy
//! machine: each round times a batch of floor calls, a batch through the layer on a cold token
//! and a batch on a repeat token, back to back (each round in another order, every order in
//! turn); the reported ratio is the median of the per-round ratios, and the times are per-call
//! medians.
//!
//! ```text
//! cargo bench --bench ratio
//! cargo bench --bench ratio --features metrics   # recording into a Prometheus recorder
//! python3 benches/metrics_overhead.py            # both builds, alternating pairs
//! ```

mod common;

use std::time::{Duration, Instant};

use common::{ALGS, Floor, call, setup};

const ROUNDS: usize = 300;
const BATCH: u32 = 16;

/// Timed steps per round: floor, cold token, repeat token.
const STEPS: usize = 3;

fn main() {
    // With the `metrics` feature, record into a real exporter, as a deployment would.
    #[cfg(feature = "metrics")]
    let _prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder");
    let s = setup();
    println!(
        "paired, interleaved: {ROUNDS} rounds of {BATCH} calls each; medians; aws-lc-rs backend\n"
    );
    println!(
        "| alg | floor: jsonwebtoken::decode (ES512: aws-lc-rs) | layer, cold token | cold / floor | layer, repeat token | floor / repeat |"
    );
    println!("|---|---|---|---|---|---|");
    // Every order of the steps in turn, so that each step follows each other step equally
    // often: a batch right after the signature batches finds colder caches than one after a
    // repeat batch.
    let orders = permutations(STEPS);
    for (alg, name) in ALGS {
        let floor = Floor::new(&s, alg);
        let mut floor_t = Vec::with_capacity(ROUNDS);
        let mut cold_t = Vec::with_capacity(ROUNDS);
        let mut repeat_t = Vec::with_capacity(ROUNDS);
        let (mut cold_ratio, mut repeat_ratio) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS + 10 {
            let mut times = [Duration::ZERO; STEPS];
            for &which in &orders[round % orders.len()] {
                let started = Instant::now();
                for _ in 0..BATCH {
                    match which {
                        0 => floor.decode(),
                        1 => assert_eq!(call(&s.cold, floor.request.clone()), 200),
                        _ => assert_eq!(call(&s.repeat, floor.request.clone()), 200),
                    }
                }
                times[which] = started.elapsed() / BATCH;
            }
            if round < 10 {
                continue; // warm-up
            }
            floor_t.push(times[0]);
            cold_t.push(times[1]);
            repeat_t.push(times[2]);
            cold_ratio.push(times[1].as_secs_f64() / times[0].as_secs_f64());
            repeat_ratio.push(times[0].as_secs_f64() / times[2].as_secs_f64());
        }
        println!(
            "| {name} | {:.1} us | {:.1} us | {:.3}x | {:.2} us | {:.1}x faster |",
            median(&mut floor_t).as_secs_f64() * 1e6,
            median(&mut cold_t).as_secs_f64() * 1e6,
            median_f(&mut cold_ratio),
            median(&mut repeat_t).as_secs_f64() * 1e6,
            median_f(&mut repeat_ratio),
        );
        let _ = alg;
    }
    drop(s.rt);
}

/// All orders of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for shorter in permutations(n - 1) {
        for at in 0..=shorter.len() {
            let mut order = shorter.clone();
            order.insert(at, n - 1);
            all.push(order);
        }
    }
    all
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn median_f(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
