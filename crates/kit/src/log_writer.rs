//! Where log lines go: a shared buffer that a background thread writes to stdout every few
//! milliseconds.
//!
//! A request never waits on stdout, and logging costs no system call and no thread wake-up per
//! line: lines are appended under a short lock, and the writer thread takes the whole buffer
//! every [`INTERVAL`] and writes it with one `write(2)`. Nothing is dropped: past [`HIGH_WATER`]
//! buffered bytes the writer is woken at once, and past [`LIMIT`] the logging thread writes the
//! buffer itself (a burst slows down rather than loses lines or grows without bound). [`Flush`]
//! writes what is left when telemetry shuts down.
//!
//! `tracing-appender`'s non-blocking writer, used before, hands each line to its thread through a
//! channel and wakes it for each: on a pod with one CPU that wake-up and the switch to the writer
//! thread cost more than formatting the line (`cargo xtask bench`).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How often buffered lines are written.
pub const INTERVAL: Duration = Duration::from_millis(20);
/// Buffered bytes that wake the writer before its interval.
pub const HIGH_WATER: usize = 256 * 1024;
/// Buffered bytes past which the logging thread writes them itself.
pub const LIMIT: usize = 4 * 1024 * 1024;

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    buffer: Vec<u8>,
    stopping: bool,
}

/// The `MakeWriter` of the log layer. Cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

/// Writes what is buffered and stops the writer thread when dropped (or on [`Flush::flush`]).
pub struct Flush {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LogWriter {
    /// A writer to `out` (stdout in services) and the guard that flushes it.
    pub fn new(out: impl Write + Send + 'static) -> (Self, Flush) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buffer: Vec::with_capacity(64 * 1024),
                stopping: false,
            }),
            wake: Condvar::new(),
        });
        let out: Arc<Mutex<Box<dyn Write + Send>>> = Arc::new(Mutex::new(Box::new(out)));
        let writer = Self {
            shared: shared.clone(),
            out: out.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn({
                let shared = shared.clone();
                move || write_periodically(&shared, &out)
            })
            .expect("the log writer thread starts");
        (
            writer,
            Flush {
                shared,
                thread: Some(thread),
            },
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_periodically(shared: &Shared, out: &Mutex<Box<dyn Write + Send>>) {
    let mut spare = Vec::with_capacity(64 * 1024);
    loop {
        let mut state = lock(&shared.state);
        if state.buffer.len() < HIGH_WATER && !state.stopping {
            state = shared
                .wake
                .wait_timeout(state, INTERVAL)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut state.buffer, &mut spare);
        let stopping = state.stopping;
        // Taken before the buffer is let go (the same order as a logging thread that writes
        // itself), so no later line can reach stdout before these.
        let mut out = lock(out);
        drop(state);
        if !spare.is_empty() {
            // Nowhere to report a failed stdout; the lines are gone either way.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        drop(out);
        if stopping {
            return;
        }
    }
}

impl Flush {
    /// Writes every buffered line and stops the writer thread.
    pub fn flush(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        lock(&self.shared.state).stopping = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Line(self).write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the log layer writes one line through (no reference count touched per line).
pub struct Line<'a>(&'a LogWriter);

impl Write for Line<'_> {
    /// Buffers `bytes` (the log layer writes one whole line per call).
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let this = self.0;
        let mut state = lock(&this.shared.state);
        if state.stopping {
            drop(state);
            // After shutdown: straight out, in order.
            let mut out = lock(&this.out);
            out.write_all(bytes)?;
            out.flush()?;
            return Ok(bytes.len());
        }
        state.buffer.extend_from_slice(bytes);
        let buffered = state.buffer.len();
        if buffered >= LIMIT {
            // The writer is behind: write here, holding the buffer so lines stay in order.
            let mut out = lock(&this.out);
            out.write_all(&state.buffer)?;
            out.flush()?;
            state.buffer.clear();
        } else if buffered >= HIGH_WATER {
            this.shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(()) // the writer thread flushes on its interval, and `Flush` at the end
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_within_an_interval_and_at_flush() {
        let sink = Sink::default();
        let (writer, flush) = LogWriter::new(sink.clone());
        let mut w = writer.clone();
        w.write_all(b"first\n").unwrap();
        std::thread::sleep(INTERVAL * 5);
        assert_eq!(
            lock(&sink.0).as_slice(),
            b"first\n",
            "written within an interval"
        );
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        w.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        flush.flush();
        let text = String::from_utf8(lock(&sink.0).clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 40_000, "none lost");
        for t in 0..4 {
            let mine: Vec<usize> = lines[1..]
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("{t} ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..10_000).collect::<Vec<_>>(), "thread {t} in order");
        }
        let mut late = writer.clone();
        late.write_all(b"after\n").unwrap();
        assert!(
            String::from_utf8(lock(&sink.0).clone())
                .unwrap()
                .ends_with("after\n")
        );
    }
}
