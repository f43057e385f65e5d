//! The voice of the board: a call's clips (see `speech::call_clips`) joined after the chime into
//! one sound, ready to play or to write as a WAV file.
//!
//! The clips ship inside the binary (made by `scripts/make-voice-clips`); a centre that records
//! its own puts WAV files with the same names in a folder given with `--voice`, and those win.
//! Clips of any sample rate and channel count are accepted and converted.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

/// Every clip a call can need. `speech`'s tests check that the number reader never asks for a
/// word outside this list.
pub const VOCABULARY: &[&str] = &[
    "chime",
    "mời công dân có số thứ tự",
    "đến quầy số",
    "không",
    "một",
    "hai",
    "ba",
    "bốn",
    "năm",
    "sáu",
    "bảy",
    "tám",
    "chín",
    "mười",
    "mươi",
    "mốt",
    "tư",
    "lăm",
    "linh",
    "trăm",
    "nghìn",
    "triệu",
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "I",
    "J",
    "K",
    "L",
    "M",
    "N",
    "O",
    "P",
    "Q",
    "R",
    "S",
    "T",
    "U",
    "V",
    "W",
    "X",
    "Y",
    "Z",
];

/// The sample rate of every announcement (espeak-ng's own).
pub const RATE: u32 = 22_050;
/// Silence after the chime, between words, and at the end.
const AFTER_CHIME_MS: u32 = 250;
const BETWEEN_WORDS_MS: u32 = 40;
const BETWEEN_PHRASES_MS: u32 = 180;
const TAIL_MS: u32 = 300;

// The clips made by scripts/make-voice-clips, embedded by build.rs: `EMBEDDED: &[(&str, &[u8])]`.
include!(concat!(env!("OUT_DIR"), "/voice_clips.rs"));

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("no voice clip {name:?} (looked for {path} and in the built-in clips)")]
    MissingClip { name: String, path: PathBuf },
    #[error("voice clip {path}: {message}")]
    BadClip { path: String, message: String },
    #[error("voice folder {0}: not a folder")]
    NotAFolder(PathBuf),
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// Mono 16-bit sound at `RATE`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sound {
    pub samples: Vec<i16>,
}

impl Sound {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(RATE)
    }

    fn silence(&mut self, ms: u32) {
        let n = (RATE * ms / 1000) as usize;
        self.samples.extend(std::iter::repeat_n(0, n));
    }

    /// The sound as a WAV file's bytes.
    pub fn wav_bytes(&self) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = Cursor::new(Vec::with_capacity(44 + self.samples.len() * 2));
        // Writing to memory cannot fail for lack of space; the header sizes fit (< 4 GiB).
        if let Ok(mut writer) = hound::WavWriter::new(&mut out, spec) {
            for s in &self.samples {
                let _ = writer.write_sample(*s);
            }
            let _ = writer.finalize();
        }
        out.into_inner()
    }

    pub fn write_wav(&self, path: &Path) -> Result<(), VoiceError> {
        std::fs::write(path, self.wav_bytes()).map_err(|e| VoiceError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// Finds and caches the clips.
pub struct Voice {
    custom: Option<PathBuf>,
    cache: HashMap<String, Sound>,
}

impl Voice {
    /// The built-in clips, overridden by the WAV files in `custom` when given.
    pub fn new(custom: Option<&Path>) -> Result<Voice, VoiceError> {
        if let Some(dir) = custom
            && !dir.is_dir()
        {
            return Err(VoiceError::NotAFolder(dir.to_path_buf()));
        }
        Ok(Voice {
            custom: custom.map(Path::to_path_buf),
            cache: HashMap::new(),
        })
    }

    /// The chime, then the clips in order, with short pauses: one announcement.
    pub fn render(&mut self, clips: &[String]) -> Result<Sound, VoiceError> {
        let mut out = Sound::default();
        out.samples.extend(&self.clip("chime")?.samples);
        out.silence(AFTER_CHIME_MS);
        for (i, name) in clips.iter().enumerate() {
            if i > 0 {
                // A longer breath around the fixed phrases, as an announcer would.
                let phrase = |n: &str| n.contains(' ');
                let pause = if phrase(name) || phrase(&clips[i - 1]) {
                    BETWEEN_PHRASES_MS
                } else {
                    BETWEEN_WORDS_MS
                };
                out.silence(pause);
            }
            out.samples.extend(&self.clip(name)?.samples);
        }
        out.silence(TAIL_MS);
        Ok(out)
    }

    fn clip(&mut self, name: &str) -> Result<&Sound, VoiceError> {
        let name: String = name.nfc().collect();
        if !self.cache.contains_key(&name) {
            let sound = self.load(&name)?;
            self.cache.insert(name.clone(), sound);
        }
        self.cache
            .get(&name)
            .ok_or_else(|| VoiceError::MissingClip {
                name: name.clone(),
                path: PathBuf::new(),
            })
    }

    fn load(&self, name: &str) -> Result<Sound, VoiceError> {
        let file = format!("{name}.wav");
        if let Some(dir) = &self.custom {
            let path = dir.join(&file);
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| VoiceError::BadClip {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                return decode(&bytes, &path.display().to_string());
            }
        }
        match EMBEDDED.iter().find(|(n, _)| n.nfc().eq(name.chars())) {
            Some((_, bytes)) => decode(bytes, &format!("(built in) {file}")),
            None => Err(VoiceError::MissingClip {
                name: name.to_string(),
                path: self
                    .custom
                    .as_ref()
                    .map_or_else(|| PathBuf::from(&file), |d| d.join(&file)),
            }),
        }
    }
}

/// Reads a WAV clip of any common format into mono 16-bit at `RATE`.
fn decode(bytes: &[u8], what: &str) -> Result<Sound, VoiceError> {
    let bad = |message: String| VoiceError::BadClip {
        path: what.to_string(),
        message,
    };
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(bad("no channels or no sample rate".into()));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1_i64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?
        }
    };
    let channels = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / frame.len() as f32)
        .collect();
    let resampled = resample(&mono, spec.sample_rate, RATE);
    Ok(Sound {
        samples: resampled
            .into_iter()
            .map(|v| (v.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
            .collect(),
    })
}

/// Linear interpolation: plenty for speech recorded at 16–48 kHz and played on a lobby speaker.
fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let k = pos as usize;
            let frac = (pos - k as f64) as f32;
            let a = input[k.min(input.len() - 1)];
            let b = input[(k + 1).min(input.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_has_a_clip_name_in_the_vocabulary() {
        let vocabulary = VOCABULARY;
        use crate::speech::{CALL_COUNTER, CALL_OPENING, number_words};
        for n in (0..=20_000).chain([999_999_999, 1_000_005]) {
            for word in number_words(n) {
                assert!(vocabulary.contains(&word), "{word} ({n})");
            }
        }
        for c in 'A'..='Z' {
            assert!(vocabulary.contains(&c.to_string().as_str()), "{c}");
        }
        assert!(vocabulary.contains(&CALL_OPENING));
        assert!(vocabulary.contains(&CALL_COUNTER));
    }

    #[test]
    fn every_word_of_the_vocabulary_is_built_in() {
        let mut voice = Voice::new(None).expect("voice");
        for name in VOCABULARY {
            let clip = voice.clip(name).expect(name);
            assert!(
                clip.samples.len() > RATE as usize / 20,
                "{name} is shorter than 50 ms"
            );
        }
    }

    #[test]
    fn an_announcement_is_the_chime_then_the_words() {
        let mut voice = Voice::new(None).expect("voice");
        let clips = crate::speech::call_clips("1005", 3).expect("readable");
        let sound = voice.render(&clips).expect("render");
        let chime = voice.clip("chime").expect("chime").samples.clone();
        assert_eq!(&sound.samples[..chime.len()], &chime[..]);
        // Eleven clips of speech: between two and fifteen seconds is what a listener expects.
        assert!(
            (2.0..15.0).contains(&sound.seconds()),
            "{} s",
            sound.seconds()
        );
        let bytes = sound.wav_bytes();
        let back = decode(&bytes, "round trip").expect("decodes");
        assert_eq!(back.samples.len(), sound.samples.len());
    }

    #[test]
    fn a_centres_own_recording_wins_and_is_converted() {
        let dir = tempfile::tempdir().expect("tmp");
        // A stereo 48 kHz float recording of one second.
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(dir.path().join("ba.wav"), spec).expect("create");
        for i in 0..48_000 {
            let v = (i as f32 / 20.0).sin() * 0.5;
            w.write_sample(v).expect("write");
            w.write_sample(v).expect("write");
        }
        w.finalize().expect("finalize");
        let mut voice = Voice::new(Some(dir.path())).expect("voice");
        let ba = voice.clip("ba").expect("ba").samples.len();
        assert!((ba as i64 - RATE as i64).abs() < 10, "{ba} samples");
        // Words the centre did not record still come from the built-in clips.
        assert!(voice.clip("hai").is_ok());
    }

    #[test]
    fn a_broken_clip_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("ba.wav"), b"not a wav file").expect("write");
        let mut voice = Voice::new(Some(dir.path())).expect("voice");
        let err = voice.clip("ba").expect_err("refused").to_string();
        assert!(err.contains("ba.wav"), "{err}");
        assert!(Voice::new(Some(Path::new("/no/such/folder"))).is_err());
    }
}
