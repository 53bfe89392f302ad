use fastio::abi::{op, Sqe};
use fastio::config::BackendChoice;
use fastio::{Config, Fastio};
use std::time::{Duration, Instant};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let idle: u32 = a.get(1).map_or(200, |s| s.parse().unwrap());
    let aff: i32 = a.get(2).map_or(-1, |s| s.parse().unwrap());
    let cfg = Config { backend: BackendChoice::Threads, poller_idle_us: idle, affinity_offset: aff, ..Config::default() };
    let mut f = Fastio::new(&cfg, 1).unwrap();
    let mut ring = f.take_rings().pop().unwrap();
    let end = Instant::now() + Duration::from_secs(2);
    let mut n = 0u64; let mut slow = 0u64; let mut slow_time = Duration::ZERO;
    let mut slow_with_sleep = 0; let mut slow_sleeping_before = 0;
    let mut printed = 0;
    let cpu = |_: ()| { let mut ru: libc::rusage = unsafe { std::mem::zeroed() }; unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }; (ru.ru_utime.tv_sec * 1_000_000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1_000_000 + ru.ru_stime.tv_usec, ru.ru_nvcsw, ru.ru_nivcsw) };
    let c0 = cpu(());
    let t00 = Instant::now();
    while Instant::now() < end {
        let s0 = f.stats();
        let sl = ring.poller_sleeping();
        let c_a = cpu(());
        let cpu0 = unsafe { libc::sched_getcpu() };
        let t0 = Instant::now();
        unsafe { ring.push(&Sqe { opcode: op::NOP, fd: -1, user_data: n, ..Default::default() }) }.unwrap();
        ring.wait(1, None).unwrap();
        let c = ring.pop().unwrap();
        let dt = t0.elapsed();
        assert_eq!(c.user_data, n);
        if dt > Duration::from_micros(50) {
            let s1 = f.stats();
            let c_b = cpu(());
            let cpu1 = unsafe { libc::sched_getcpu() };
            slow += 1; slow_time += dt;
            if s1.sleeps > s0.sleeps { slow_with_sleep += 1; }
            if sl { slow_sleeping_before += 1; }
            if printed < 15 { printed += 1;
                eprintln!("iter {n}: {:?} poller_sleeping_before={sl} sleeps+{} wakeups+{} loops+{} app cpu_us+{} vcsw+{} ivcsw+{} cpu {cpu0}->{cpu1}", dt, s1.sleeps - s0.sleeps, s1.wakeups - s0.wakeups, s1.loops - s0.loops, c_b.0 - c_a.0, c_b.1 - c_a.1, c_b.2 - c_a.2);
            }
        }
        n += 1;
    }
    let c1 = cpu(());
    let s = f.stats();
    eprintln!("idle={idle} aff={aff}: {n} iters in {:?} ({:.0}/s); slow(>50us) {slow} totaling {:?}; slow w/ poller sleep {slow_with_sleep}; poller sleeping before {slow_sleeping_before}; total sleeps {} wakeups {} loops {}; app thread cpu {} us, vcsw {} ivcsw {}", t00.elapsed(), n as f64 / t00.elapsed().as_secs_f64(), slow_time, s.sleeps, s.wakeups, s.loops, c1.0 - c0.0, c1.1 - c0.1, c1.2 - c0.2);
}
