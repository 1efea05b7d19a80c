//! Sealing and opening as streams (issue 26): the same format as the whole calls, both
//! ways, at the sizes where the framing and the checkpoints change; no plaintext before
//! the tag checks unless asked; a body of the wrong length is refused.

use kms_instance::envelope::message::StreamHead;
use kms_instance::envelope::stream::{self, CHECKPOINT_BYTES};
use kms_instance::envelope::stream_io::{self, OpenReader, SealWriter};
use kms_instance::envelope::{self, DecryptOptions, EncryptOptions, KeyArn};
use kms_instance::key_providers::software::SoftwareKeyProvider;
use kms_instance::Code;
use pollster::block_on;
use std::io::{Cursor, Read, Write};

fn keys() -> (SoftwareKeyProvider, Vec<KeyArn>) {
    let arn: KeyArn = "acs:kms:cn-hangzhou:1207089758810000:key/key-stream".parse().unwrap();
    let mut keys = SoftwareKeyProvider::new();
    keys.add(arn.clone(), [9; 32]).unwrap();
    (keys, vec![arn])
}

fn options() -> EncryptOptions<'static> {
    EncryptOptions { context: [("app".to_string(), "streams".to_string())].into(), ..Default::default() }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Seals `plaintext` through a `SealWriter`, in writes of `piece` bytes.
fn seal_streamed(keys: &SoftwareKeyProvider, arns: &[KeyArn], plaintext: &[u8], piece: usize) -> Vec<u8> {
    let sealing = block_on(stream::begin_seal_stream(&[keys], arns, plaintext.len() as u64, &options())).unwrap();
    let mut writer = SealWriter::new(sealing, Vec::new()).unwrap();
    for part in plaintext.chunks(piece.max(1)) {
        writer.write_all(part).unwrap();
    }
    writer.finish().unwrap()
}

enum How {
    Verified,
    Buffered(u64),
    Unverified,
}

/// Opens `message` as a stream: the plaintext the reader gave, and how it ended.
fn open_streamed(keys: &SoftwareKeyProvider, message: &[u8], how: How) -> (Vec<u8>, Result<(), kms_instance::Problem>) {
    let mut source = Cursor::new(message.to_vec());
    let head = match stream_io::read_head(&mut source) {
        Ok(head) => head,
        Err(e) => return (Vec::new(), Err(stream_io::problem_of(&e).cloned().unwrap())),
    };
    let opening = match block_on(stream::begin_open_stream(&[keys], head, &DecryptOptions::default())) {
        Ok(o) => o,
        Err(p) => return (Vec::new(), Err(p)),
    };
    let reader: Result<Box<dyn Read>, std::io::Error> = match how {
        How::Verified => OpenReader::verified(opening, source).map(|r| Box::new(r) as Box<dyn Read>),
        How::Buffered(limit) => OpenReader::buffered(opening, source, limit).map(|r| Box::new(r) as Box<dyn Read>),
        How::Unverified => OpenReader::unverified(opening, source).map(|r| Box::new(r) as Box<dyn Read>),
    };
    let mut got = Vec::new();
    let problem = |e: std::io::Error| stream_io::problem_of(&e).cloned().unwrap_or_else(|| panic!("{e}"));
    let ended = match reader {
        Err(e) => Err(problem(e)),
        Ok(mut r) => {
            // Read in small pieces, keeping whatever each gave before an error.
            let mut buf = vec![0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => break Err(problem(e)),
                }
            }
        }
    };
    (got, ended)
}

#[test]
fn streamed_and_whole_messages_open_each_other_at_every_boundary() {
    let (keys, arns) = keys();
    let c = CHECKPOINT_BYTES;
    for len in [0, 1, 15, 16, 17, 127, 128, 65_535, 65_536, c - 1, c, c + 1, 2 * c + 17] {
        let plaintext = data(len);
        let streamed = seal_streamed(&keys, &arns, &plaintext, 100_003);
        let whole = block_on(envelope::decrypt(&[&keys], &streamed, &DecryptOptions::default())).unwrap();
        assert_eq!(whole.plaintext, plaintext, "{len}: streamed, opened whole");
        let sealed_whole = block_on(envelope::encrypt(&[&keys], &arns, &plaintext, &options())).unwrap();
        for message in [&streamed, &sealed_whole] {
            for how in [How::Verified, How::Buffered(u64::MAX), How::Unverified] {
                let (got, ended) = open_streamed(&keys, message, how);
                ended.unwrap();
                assert_eq!(got, plaintext, "{len}");
            }
        }
    }
}

#[test]
fn a_stream_longer_or_shorter_than_its_length_is_refused_and_no_message_is_left() {
    let (keys, arns) = keys();
    let sealing = block_on(stream::begin_seal_stream(&[&keys], &arns, 10, &options())).unwrap();
    let mut writer = SealWriter::new(sealing, Vec::new()).unwrap();
    let e = writer.write_all(&[1; 11]).unwrap_err();
    assert_eq!(stream_io::problem_of(&e).unwrap().code, Code::Plaintext);

    let sealing = block_on(stream::begin_seal_stream(&[&keys], &arns, 10, &options())).unwrap();
    let mut writer = SealWriter::new(sealing, Vec::new()).unwrap();
    writer.write_all(&[1; 9]).unwrap();
    let e = writer.finish().unwrap_err();
    assert_eq!(stream_io::problem_of(&e).unwrap().code, Code::Plaintext);
    // What a short stream wrote is its head and 9 bytes: no whole call reads a message there.
    let sealing = block_on(stream::begin_seal_stream(&[&keys], &arns, 10, &options())).unwrap();
    let written = [sealing.head(), &[0; 9]].concat();
    let p = block_on(envelope::decrypt(&[&keys], &written, &DecryptOptions::default())).unwrap_err();
    assert_eq!(p.code, Code::NotAMessage);
}

#[test]
fn a_changed_byte_releases_no_plaintext_unless_unverified_was_asked_for() {
    let (keys, arns) = keys();
    // Every byte of a small message; across the checkpoint and the tag of a larger one.
    let small = seal_streamed(&keys, &arns, &data(700), 256);
    let large = seal_streamed(&keys, &arns, &data(CHECKPOINT_BYTES + 300), 65_536);
    let head_len = StreamHead::read(&large).unwrap().unwrap().len;
    let near_checkpoint = head_len + CHECKPOINT_BYTES;
    let cases = (0..small.len()).map(|at| (&small, at)).chain(
        [head_len, near_checkpoint - 1, near_checkpoint, near_checkpoint + 299, large.len() - 1].map(|at| (&large, at)),
    );
    for (message, at) in cases {
        let mut changed = message.clone();
        changed[at] ^= 0x01;
        for how in [How::Verified, How::Buffered(u64::MAX)] {
            let (got, ended) = open_streamed(&keys, &changed, how);
            // The algorithm's number changed to a CBC or CTR one's is refused as such.
            let code = ended.unwrap_err().code;
            assert!(code.is_invalid_ciphertext() || code == Code::LegacyAlgorithm, "byte {at}: {code}");
            assert!(got.is_empty(), "byte {at}: {} bytes released", got.len());
        }
        // Unverified: plaintext as it came (the head is checked first), and an error at the end.
        let (_, ended) = open_streamed(&keys, &changed, How::Unverified);
        let code = ended.unwrap_err().code;
        assert!(code.is_invalid_ciphertext() || code == Code::LegacyAlgorithm, "byte {at}: {code}");
    }
    // A truncated message, and one with a byte after it.
    for broken in [&small[..small.len() - 1], &[&small[..], &[0]].concat()[..]] {
        let (got, ended) = open_streamed(&keys, broken, How::Verified);
        assert_eq!(ended.unwrap_err().code, Code::NotAMessage);
        assert!(got.is_empty());
    }
}

#[test]
fn a_source_that_changes_between_the_passes_releases_only_what_the_first_pass_saw() {
    let (keys, arns) = keys();
    let plaintext = data(3 * CHECKPOINT_BYTES);
    let message = seal_streamed(&keys, &arns, &plaintext, 65_536);
    let mut source = Cursor::new(message.clone());
    let head = stream_io::read_head(&mut source).unwrap();
    let start = head.len;
    let opening = block_on(stream::begin_open_stream(&[&keys], head, &DecryptOptions::default())).unwrap();
    let mut first = opening.verifier().unwrap();
    first.update(&message[start..], &mut Vec::new()).unwrap();
    let stream::Finished::Verified(verified) = first.finish().unwrap() else { panic!() };
    // The second checkpoint's piece changes before the second pass reads it.
    let mut changed = message[start..].to_vec();
    changed[CHECKPOINT_BYTES + 5] ^= 0x80;
    let mut second = opening.decryptor(verified).unwrap();
    let mut out = Vec::new();
    let e = second.update(&changed, &mut out).unwrap_err();
    assert_eq!(e.code, Code::InvalidCiphertext);
    assert_eq!(out, plaintext[..CHECKPOINT_BYTES], "only the first piece, which the first pass saw");
}

#[test]
fn a_source_read_once_past_its_limit_is_refused_naming_the_opt_in() {
    let (keys, arns) = keys();
    let message = seal_streamed(&keys, &arns, &data(5000), 4096);
    let (got, ended) = open_streamed(&keys, &message, How::Buffered(4096));
    let p = ended.unwrap_err();
    assert_eq!(p.code, Code::UnverifiedStreamRequired);
    assert!(p.message.contains("--unverified"), "{}", p.message);
    assert!(got.is_empty());
}

#[test]
fn a_head_is_read_from_any_prefix_and_for_a_body_past_256_mib() {
    let (keys, arns) = keys();
    let message = seal_streamed(&keys, &arns, &data(300), 300);
    let whole = StreamHead::read(&message).unwrap().unwrap();
    for n in 0..whole.len {
        assert_eq!(StreamHead::read(&message[..n]).unwrap(), None, "{n} bytes");
    }
    assert_eq!(whole.ciphertext_len, 300);
    // 1 GiB: the lengths take four bytes, past what the `der` crate writes.
    let big = 1u64 << 30;
    let sealing = block_on(stream::begin_seal_stream(&[&keys], &arns, big, &options())).unwrap();
    let head = StreamHead::read(sealing.head()).unwrap().unwrap();
    assert_eq!((head.ciphertext_len, head.len), (big, sealing.head().len()));
    // A length in a non-minimal form is refused.
    assert_eq!(message[1], 0x82, "a two-byte length");
    let padded = [&[0x30, 0x83, 0x00][..], &message[2..]].concat();
    assert_eq!(StreamHead::read(&padded).unwrap_err().code, Code::NotAMessage);
}

#[test]
fn a_reader_that_failed_fails_again_and_never_ends_cleanly() {
    let (keys, arns) = keys();
    let mut message = seal_streamed(&keys, &arns, &data(5000), 5000);
    let last = message.len() - 1;
    message[last] ^= 1;
    let mut source = Cursor::new(message);
    let head = stream_io::read_head(&mut source).unwrap();
    let opening = block_on(stream::begin_open_stream(&[&keys], head, &DecryptOptions::default())).unwrap();
    let mut reader = OpenReader::unverified(opening, source).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(reader.read(&mut buf).map_err(|e| stream_io::problem_of(&e).unwrap().code));
    }
    let first_error = outcomes.iter().position(Result::is_err).expect("the changed tag is refused");
    assert!(outcomes[first_error..].iter().all(|o| *o == Err(Code::InvalidCiphertext)), "{outcomes:?}");
}
