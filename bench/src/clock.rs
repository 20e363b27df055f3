//! The clock the ratio report times with: the CPU time of the calling
//! thread where the platform gives it (64-bit Linux), else wall time.
//!
//! On a shared machine a wall-clock iteration includes the time the thread
//! waited for a core while other processes ran, which differs from row to
//! row by chance; the thread's CPU time (user and system: page faults and
//! the allocator's `mmap` included) does not. Cache and memory-bandwidth
//! contention from the other processes still show in it.

use std::time::{Duration, Instant};

/// Which clock [`Clock::now`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), where
    /// available; [`Clock::Wall`] elsewhere.
    ThreadCpu,
    /// Wall time ([`Instant`]).
    Wall,
}

/// A reading of a [`Clock`].
#[derive(Clone, Copy, Debug)]
pub struct Reading(Duration);

impl Clock {
    /// The clock's name as the report prints it.
    pub fn name(self) -> &'static str {
        match self {
            Clock::ThreadCpu if thread_cpu().is_some() => "thread CPU time",
            _ => "wall time",
        }
    }

    /// The current reading.
    pub fn now(self) -> Reading {
        match self {
            Clock::ThreadCpu => Reading(thread_cpu().unwrap_or_else(wall)),
            Clock::Wall => Reading(wall()),
        }
    }

    /// Seconds from `start` to now.
    pub fn since(self, start: Reading) -> f64 {
        self.now().0.saturating_sub(start.0).as_secs_f64()
    }
}

/// Wall time since a fixed instant of this process.
fn wall() -> Duration {
    use std::sync::OnceLock;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu() -> Option<Duration> {
    /// `struct timespec` of 64-bit Linux: `time_t` and `long`, both 64 bits.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    /// `CLOCK_THREAD_CPUTIME_ID` of Linux's `<time.h>`.
    const CLOCK_THREAD_CPUTIME_ID: std::os::raw::c_int = 3;
    extern "C" {
        fn clock_gettime(clock: std::os::raw::c_int, time: *mut Timespec) -> std::os::raw::c_int;
    }
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` (glibc or musl, linked by std on Linux) writes
    // one `struct timespec`, whose layout on 64-bit Linux is `Timespec`'s, to
    // the valid, writable pointer it is given, and reads nothing else.
    let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut time) };
    (status == 0).then(|| Duration::new(time.tv_sec as u64, time.tv_nsec as u32))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu() -> Option<Duration> {
    None
}
