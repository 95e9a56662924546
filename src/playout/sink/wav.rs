//! The `wav` sink: a recording of everything that airs (not the silence between
//! programmes), 16-bit PCM. A `%` pattern in the file name (strftime, station zone) starts
//! a new file when it changes: `ghi-am/%Y-%m-%d.wav` keeps a file a day, well under WAV's
//! 4 GB limit. An existing file of the same format is appended to, never overwritten.

use std::io::BufWriter;
use std::path::PathBuf;

use super::{Block, Sink};

type Writer = hound::WavWriter<BufWriter<std::fs::File>>;

pub struct WavSink {
    pattern: PathBuf,
    tz: chrono_tz::Tz,
    spec: Option<hound::WavSpec>,
    file: Option<(PathBuf, Writer)>,
}

impl WavSink {
    pub fn new(pattern: PathBuf, tz: chrono_tz::Tz) -> WavSink {
        WavSink {
            pattern,
            tz,
            spec: None,
            file: None,
        }
    }

    /// The file a block at `t_ns` belongs in.
    fn path_at(&self, t_ns: i128) -> PathBuf {
        let p = self.pattern.to_string_lossy();
        if !p.contains('%') {
            return self.pattern.clone();
        }
        let t = crate::playout::ns_to_utc(t_ns).with_timezone(&self.tz);
        PathBuf::from(t.format(&p).to_string())
    }

    fn writer(&mut self, path: PathBuf) -> Result<&mut Writer, String> {
        if self.file.as_ref().is_some_and(|(p, _)| *p == path) {
            return Ok(&mut self.file.as_mut().expect("checked").1);
        }
        self.close();
        let spec = self.spec.ok_or("not open")?;
        let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let w = match hound::WavWriter::append(&path) {
            Ok(w) if w.spec() == spec => w,
            // Another format (or not a WAV file): keep it, start a file of our own beside it.
            Ok(_) | Err(hound::Error::FormatError(_)) if path.exists() => {
                let alt = path.with_extension(format!(
                    "{}.wav",
                    chrono::Utc::now()
                        .with_timezone(&self.tz)
                        .format("%Y%m%d-%H%M%S")
                ));
                hound::WavWriter::create(&alt, spec).map_err(|e| fail(&e))?
            }
            _ => hound::WavWriter::create(&path, spec).map_err(|e| fail(&e))?,
        };
        self.file = Some((path, w));
        Ok(&mut self.file.as_mut().expect("just set").1)
    }
}

impl Sink for WavSink {
    fn open(&mut self, channels: u16, rate: u32) -> Result<(), String> {
        self.spec = Some(hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        });
        // Fail now, not at the first programme, when the folder cannot be written.
        let path = self.path_at(crate::clock::wall_ns());
        self.writer(path).map(|_| ())
    }

    fn write(&mut self, samples: &[f32], block: &Block) -> Result<u64, String> {
        if !block.active {
            return Ok(0);
        }
        let path = self.path_at(block.t_first_ns);
        let shown = path.display().to_string();
        let w = self.writer(path)?;
        for s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
                .map_err(|e| format!("cannot write {shown}: {e}"))?;
        }
        // Durable at every block: a power cut loses at most this block.
        w.flush()
            .map_err(|e| format!("cannot write {shown}: {e}"))?;
        Ok(samples.len() as u64 * 2)
    }

    fn close(&mut self) {
        if let Some((_, w)) = self.file.take() {
            let _ = w.finalize();
        }
    }
}
