//! A column's digest from its Arrow buffers: blake3 over the values and the validity, streamed
//! chunk after chunk so that the same values split into chunks differently hash the same. No
//! per-row hashing: fixed-width values go to the hasher as whole buffers, bits (validity,
//! booleans) as 64-bit words; strings as Arrow lays them out, short ones (at most 12 bytes) as
//! runs of their 16-byte views, long ones as length ‖ bytes. Values under a null are not data:
//! they are hashed as zeros, so a frame read back from parquet (zeros there) hashes like the
//! frame that was written.

use polars::prelude::{DataType, IpcWriter, SerWriter, Series};
use polars_arrow::array::{
    Array, BinaryViewArray, BooleanArray, NullArray, PrimitiveArray, Utf8ViewArray, View,
};
use polars_arrow::bitmap::utils::SlicesIterator;
use polars_arrow::bitmap::Bitmap;
use polars_arrow::types::NativeType;

/// The digest of one column: its name, dtype, length and values.
pub(super) fn column_digest(s: &Series) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(s.name().as_bytes());
    h.update(&[0xff]);
    h.update(dtype_text(s.dtype()).as_bytes());
    h.update(&[0xff]);
    h.update(&(s.len() as u64).to_le_bytes());
    let physical = s.to_physical_repr();
    let mut streams = Streams::default();
    let hashed = physical
        .chunks()
        .iter()
        .all(|chunk| streams.chunk(chunk.as_ref()));
    if hashed {
        h.update(&streams.finish());
    } else {
        // Nested or rare types: the column, rechunked, in Arrow IPC.
        h.update(b"ipc");
        h.update(blake3::hash(&ipc_bytes(s)).as_bytes());
    }
    *h.finalize().as_bytes()
}

fn dtype_text(dtype: &DataType) -> String {
    format!("{dtype:?}")
}

fn ipc_bytes(s: &Series) -> Vec<u8> {
    let mut frame = s.rechunk().into_frame();
    let mut out = Vec::new();
    match IpcWriter::new(&mut out).finish(&mut frame) {
        Ok(()) => out,
        // Cannot be written: a digest no other column shares (never equal, never a hit).
        Err(_) => crate::fingerprint::DataVersion::unique()
            .as_bytes()
            .to_vec(),
    }
}

/// The streams one column's chunks are fed into, in order.
#[derive(Default)]
struct Streams {
    values: Buffered,
    bits: BitStream,
    validity: BitStream,
}

impl Streams {
    /// Feeds one chunk; `false` for an array type hashed another way.
    fn chunk(&mut self, arr: &dyn Array) -> bool {
        let validity = arr.validity().filter(|v| v.unset_bits() > 0);
        match validity {
            Some(v) => self.validity.bitmap(v),
            None => self.validity.ones(arr.len()),
        }
        macro_rules! primitive {
            ($($t:ty),*) => {$(
                if let Some(a) = arr.as_any().downcast_ref::<PrimitiveArray<$t>>() {
                    self.primitive(a, validity);
                    return true;
                }
            )*};
        }
        primitive!(i8, i16, i32, i64, i128, u8, u16, u32, u64, f32, f64);
        let any = arr.as_any();
        if let Some(a) = any.downcast_ref::<BooleanArray>() {
            match validity {
                Some(v) => self.bits.bitmap(&(a.values() & v)),
                None => self.bits.bitmap(a.values()),
            }
            return true;
        }
        if let Some(a) = any.downcast_ref::<Utf8ViewArray>() {
            self.views(&a.to_binview(), validity);
            return true;
        }
        if let Some(a) = any.downcast_ref::<BinaryViewArray>() {
            self.views(a, validity);
            return true;
        }
        any.downcast_ref::<NullArray>().is_some()
    }

    /// Fixed-width values: the buffer as it is, nulls' slots as zeros.
    fn primitive<T: NativeType>(&mut self, a: &PrimitiveArray<T>, validity: Option<&Bitmap>) {
        let values: &[T] = a.values();
        let Some(v) = validity else {
            self.values.direct(bytemuck::cast_slice(values));
            return;
        };
        let width = std::mem::size_of::<T>();
        let mut at = 0;
        for (start, len) in SlicesIterator::new(v) {
            self.values.zeros((start - at) * width);
            self.values
                .direct(bytemuck::cast_slice(&values[start..start + len]));
            at = start + len;
        }
        self.values.zeros((values.len() - at) * width);
    }

    /// Variable-size values, each as Arrow's layout has it: a short one (at most 12 bytes) as
    /// its 16-byte view (length, then the bytes zero-padded), a long one as its length (4
    /// bytes) ‖ its bytes; a null as the empty value's view. Either form starts with the length,
    /// so the stream reads back one way only, and runs of short values (codes, names,
    /// categories) go to the hasher as the views buffer itself, not copied value by value.
    fn views(&mut self, a: &BinaryViewArray, validity: Option<&Bitmap>) {
        let n = a.len();
        let Some(v) = validity else {
            self.view_run(a, 0, n);
            return;
        };
        let mut at = 0;
        for (start, len) in SlicesIterator::new(v) {
            self.values.zeros((start - at) * VIEW);
            self.view_run(a, start, start + len);
            at = start + len;
        }
        self.values.zeros((n - at) * VIEW);
    }

    /// The values `from..to` of `a`, none of them null.
    fn view_run(&mut self, a: &BinaryViewArray, from: usize, to: usize) {
        let views: &[View] = &a.views()[from..to];
        let mut short_from = 0;
        for (i, view) in views.iter().enumerate() {
            if view.length <= View::MAX_INLINE_SIZE {
                continue;
            }
            self.values
                .direct(bytemuck::cast_slice(&views[short_from..i]));
            self.values.push(&view.length.to_le_bytes());
            self.values.push(a.value(from + i));
            short_from = i + 1;
        }
        self.values
            .direct(bytemuck::cast_slice(&views[short_from..]));
    }

    fn finish(self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&self.values.finish());
        h.update(&self.bits.finish());
        h.update(&self.validity.finish());
        *h.finalize().as_bytes()
    }
}

/// A hasher fed through a buffer, so that many small pieces cost one large update.
struct Buffered {
    h: blake3::Hasher,
    buf: Vec<u8>,
}

const BUFFER: usize = 64 * 1024;

/// The size of an Arrow string view.
const VIEW: usize = std::mem::size_of::<View>();
static ZEROS: [u8; 4096] = [0; 4096];

impl Default for Buffered {
    fn default() -> Self {
        Buffered {
            h: blake3::Hasher::new(),
            buf: Vec::with_capacity(BUFFER),
        }
    }
}

impl Buffered {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.h.update(&self.buf);
            self.buf.clear();
        }
    }

    /// A large piece: straight to the hasher (after what is buffered).
    fn direct(&mut self, bytes: &[u8]) {
        if bytes.len() < BUFFER / 4 {
            self.push(bytes);
        } else {
            self.flush();
            self.h.update(bytes);
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > BUFFER {
            self.flush();
        }
        if bytes.len() > BUFFER {
            self.h.update(bytes);
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn zeros(&mut self, mut n: usize) {
        while n > 0 {
            let k = n.min(ZEROS.len());
            self.push(&ZEROS[..k]);
            n -= k;
        }
    }

    fn finish(mut self) -> [u8; 32] {
        self.flush();
        *self.h.finalize().as_bytes()
    }
}

/// Bits appended across chunk boundaries (a chunk's bitmap need not start on a byte), hashed
/// as 64-bit words.
#[derive(Default)]
struct BitStream {
    out: Buffered,
    acc: u64,
    /// Bits in `acc` (0..64).
    n: u32,
    total: u64,
}

impl BitStream {
    fn push(&mut self, word: u64, bits: u32) {
        if bits == 0 {
            return;
        }
        let word = if bits == 64 {
            word
        } else {
            word & ((1u64 << bits) - 1)
        };
        self.total += u64::from(bits);
        self.acc |= word << self.n;
        let filled = self.n + bits;
        if filled >= 64 {
            self.out.push(&self.acc.to_le_bytes());
            self.acc = if self.n == 0 {
                0
            } else {
                word >> (64 - self.n)
            };
            self.n = filled - 64;
        } else {
            self.n = filled;
        }
    }

    fn bitmap(&mut self, b: &Bitmap) {
        let chunks = b.chunks::<u64>();
        let rest = (chunks.remainder(), chunks.remainder_len() as u32);
        for w in chunks {
            self.push(w, 64);
        }
        self.push(rest.0, rest.1);
    }

    fn ones(&mut self, mut n: usize) {
        while n > 0 {
            let k = n.min(64);
            self.push(u64::MAX, k as u32);
            n -= k;
        }
    }

    fn finish(mut self) -> [u8; 32] {
        let (acc, total) = (self.acc, self.total);
        self.out.push(&acc.to_le_bytes());
        self.out.push(&total.to_le_bytes());
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{NamedFrom, PlSmallStr};

    fn strings(values: &[Option<&str>]) -> Series {
        Series::new(PlSmallStr::from_static("s"), values)
    }

    #[test]
    fn strings_do_not_depend_on_where_chunks_split() {
        let long = "a string longer than twelve bytes";
        let values: Vec<Option<&str>> = (0..200)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(long),
                2 => Some(""),
                3 => Some("twelve bytes"),
                _ => Some("short"),
            })
            .collect();
        let whole = column_digest(&strings(&values));
        for cut in [1, 2, 3, 57, 199] {
            let mut split = strings(&values[..cut]);
            split.append(&strings(&values[cut..])).unwrap();
            assert!(split.chunks().len() > 1);
            assert_eq!(column_digest(&split), whole, "cut at {cut}");
        }
        // A change in a short value, a long value, or a null made empty is a new digest.
        for (at, other) in [
            (4, Some("shorT")),
            (1, Some("a string longer than twelve bytez")),
            (0, Some("")),
        ] {
            let mut changed = values.clone();
            changed[at] = other;
            assert_ne!(column_digest(&strings(&changed)), whole, "value {at}");
        }
        // Thirteen bytes (a long value) and twelve (a short one) never read as each other.
        let a = column_digest(&strings(&[Some("thirteen byte"), Some("x")]));
        let b = column_digest(&strings(&[Some("thirteen byt"), Some("ex")]));
        assert_ne!(a, b);
    }

    #[test]
    fn bits_do_not_depend_on_where_chunks_split() {
        let bits: Vec<bool> = (0..300).map(|i| i % 3 == 0 || i % 7 == 0).collect();
        let whole = {
            let mut s = BitStream::default();
            s.bitmap(&Bitmap::from_iter(bits.iter().copied()));
            s.finish()
        };
        for cut in [1, 7, 63, 64, 65, 130, 299] {
            let mut s = BitStream::default();
            s.bitmap(&Bitmap::from_iter(bits[..cut].iter().copied()));
            s.bitmap(&Bitmap::from_iter(bits[cut..].iter().copied()));
            assert_eq!(s.finish(), whole, "cut at {cut}");
        }
        let mut flipped = bits.clone();
        flipped[200] = !flipped[200];
        let mut s = BitStream::default();
        s.bitmap(&Bitmap::from_iter(flipped));
        assert_ne!(s.finish(), whole);
    }
}
