//! Ratios against the floor, measured paired and interleaved so that they hold on a busy
//! machine: each round times a batch of floor calls, a batch through the layer on a cold token
//! and a batch on a repeat token, back to back (each round in another order, every order in
//! turn); the reported ratio is the median of the per-round ratios, and the times are per-call
//! medians.
//!
//! ```text
//! cargo bench --bench ratio
//! cargo bench --bench ratio --features metrics   # and the metrics overhead, same run
//! ```
//!
//! With the `metrics` feature each round also times a batch of repeat-token calls recording
//! into a real Prometheus recorder (`metrics::with_local_recorder`), beside the batch with no
//! recorder (the facade's no-op, what an application without an exporter gets): same binary,
//! same code layout, paired per round. That isolates what recording costs; comparing a build
//! with the feature against one without also compares two code layouts, which alone moves the
//! repeat path by a few percent either way.

mod common;

use std::time::{Duration, Instant};

use common::{ALGS, Floor, call, setup};

const ROUNDS: usize = 300;
const BATCH: u32 = 16;

/// Timed steps per round: floor, cold, repeat, and (with `metrics`) repeat into Prometheus.
const STEPS: usize = if cfg!(feature = "metrics") { 4 } else { 3 };

fn main() {
    // A real exporter's recorder, as a deployment would install; used only inside the
    // metrics step, so the other steps record into nothing.
    #[cfg(feature = "metrics")]
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
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
    let mut overhead = Vec::new();
    for (alg, name) in ALGS {
        let floor = Floor::new(&s, alg);
        let mut floor_t = Vec::with_capacity(ROUNDS);
        let mut cold_t = Vec::with_capacity(ROUNDS);
        let mut repeat_t = Vec::with_capacity(ROUNDS);
        let (mut cold_ratio, mut repeat_ratio, mut metrics_ratio) =
            (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS + 10 {
            let mut times = [Duration::ZERO; 4];
            for &which in &orders[round % orders.len()] {
                let batch = || {
                    for _ in 0..BATCH {
                        match which {
                            0 => floor.decode(),
                            1 => assert_eq!(call(&s.cold, floor.request.clone()), 200),
                            _ => assert_eq!(call(&s.repeat, floor.request.clone()), 200),
                        }
                    }
                };
                let started = Instant::now();
                #[cfg(feature = "metrics")]
                if which == 3 {
                    metrics::with_local_recorder(&prometheus, batch);
                } else {
                    batch();
                }
                #[cfg(not(feature = "metrics"))]
                batch();
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
            metrics_ratio.push(times[3].as_secs_f64() / times[2].as_secs_f64());
        }
        println!(
            "| {name} | {:.1} us | {:.1} us | {:.3}x | {:.2} us | {:.1}x faster |",
            median(&mut floor_t).as_secs_f64() * 1e6,
            median(&mut cold_t).as_secs_f64() * 1e6,
            median_f(&mut cold_ratio),
            median(&mut repeat_t).as_secs_f64() * 1e6,
            median_f(&mut repeat_ratio),
        );
        if STEPS == 4 {
            overhead.push((name, median_f(&mut metrics_ratio)));
        }
        let _ = alg;
    }
    if !overhead.is_empty() {
        println!("\nrepeat token recording into a Prometheus recorder / into none (same run):\n");
        println!("| alg | metrics / none |\n|---|---|");
        for (name, ratio) in overhead {
            println!("| {name} | {ratio:.3}x |");
        }
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
