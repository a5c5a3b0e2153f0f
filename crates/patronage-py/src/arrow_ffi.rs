//! The Arrow C Data and C Stream interfaces, as much as the binding reads.
//!
//! The structs are the specification's (<https://arrow.apache.org/docs/format/CDataInterface.html>,
//! `CStreamInterface.html`), declared here instead of pulling in arrow-rs: the binding only
//! reads primitive columns of record batches. Each struct imported from a producer is owned by
//! an RAII wrapper ([`Stream`], [`Schema`], [`Batch`]) whose `Drop` calls the producer's
//! `release` exactly once; a struct is taken out of its PyCapsule by moving it and marking the
//! capsule's copy released, as the PyCapsule interface prescribes. All `unsafe` code of the
//! binding is in this module.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};

/// `struct ArrowSchema`.
#[allow(dead_code)] // the specification's layout, including fields read by the producer only
#[repr(C)]
pub struct FfiSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut FfiSchema,
    dictionary: *mut FfiSchema,
    release: Option<unsafe extern "C" fn(*mut FfiSchema)>,
    private_data: *mut c_void,
}

/// `struct ArrowArray`.
#[allow(dead_code)] // the specification's layout, including fields read by the producer only
#[repr(C)]
pub struct FfiArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut FfiArray,
    dictionary: *mut FfiArray,
    release: Option<unsafe extern "C" fn(*mut FfiArray)>,
    private_data: *mut c_void,
}

/// `struct ArrowArrayStream`.
#[allow(dead_code)] // the specification's layout, including fields read by the producer only
#[repr(C)]
pub struct FfiStream {
    get_schema: Option<unsafe extern "C" fn(*mut FfiStream, *mut FfiSchema) -> c_int>,
    get_next: Option<unsafe extern "C" fn(*mut FfiStream, *mut FfiArray) -> c_int>,
    get_last_error: Option<unsafe extern "C" fn(*mut FfiStream) -> *const c_char>,
    release: Option<unsafe extern "C" fn(*mut FfiStream)>,
    private_data: *mut c_void,
}

impl FfiSchema {
    const EMPTY: FfiSchema = FfiSchema {
        format: ptr::null(),
        name: ptr::null(),
        metadata: ptr::null(),
        flags: 0,
        n_children: 0,
        children: ptr::null_mut(),
        dictionary: ptr::null_mut(),
        release: None,
        private_data: ptr::null_mut(),
    };
}

impl FfiArray {
    const EMPTY: FfiArray = FfiArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: ptr::null_mut(),
        children: ptr::null_mut(),
        dictionary: ptr::null_mut(),
        release: None,
        private_data: ptr::null_mut(),
    };
}

fn invalid(message: String) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(message)
}

/// A C string of the producer's (a format), or "" when it is null or not UTF-8.
///
/// SAFETY (caller): `p` is null or a NUL-terminated string that lives as long as its struct.
unsafe fn text<'a>(p: *const c_char) -> &'a str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("")
    }
}

/// A schema owned by this side; released on drop.
pub struct Schema(Box<FfiSchema>);

impl Drop for Schema {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: the struct was filled by its producer and not released yet (release is set)
            unsafe { release(&mut *self.0) };
        }
    }
}

/// One child field of a record batch schema: its name, format string and whether it is
/// dictionary-encoded (the format then gives the index type, not the values').
pub struct Field {
    pub name: String,
    pub format: String,
    pub dictionary: bool,
}

impl Schema {
    /// The fields of a struct schema (a record batch's), or an error when it is not a struct.
    pub fn fields(&self) -> PyResult<Vec<Field>> {
        let s = &*self.0;
        // SAFETY: format and children are valid while the schema is not released
        unsafe {
            if text(s.format) != "+s" {
                return Err(invalid(format!(
                    "the stream's schema is {:?}, not a struct of columns",
                    text(s.format)
                )));
            }
            (0..usize::try_from(s.n_children).unwrap_or(0))
                .map(|k| {
                    let child = *s.children.add(k);
                    if child.is_null() {
                        return Err(invalid(format!("column {k} has no schema")));
                    }
                    let child = &*child;
                    Ok(Field {
                        name: if child.name.is_null() {
                            String::new()
                        } else {
                            CStr::from_ptr(child.name).to_string_lossy().into_owned()
                        },
                        format: text(child.format).to_owned(),
                        dictionary: !child.dictionary.is_null(),
                    })
                })
                .collect()
        }
    }
}

/// One record batch (a struct array whose children are the columns) owned by this side;
/// released on drop.
pub struct Batch(Box<FfiArray>);

// SAFETY: the batch is immutable once exported, and the C data interface lets the consumer
// release it from any thread.
unsafe impl Send for Batch {}
unsafe impl Sync for Batch {}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: filled by the producer, not released yet
            unsafe { release(&mut *self.0) };
        }
    }
}

/// The buffers of one primitive column within one batch, as the batch holds them.
pub struct Column<'a> {
    _batch: &'a Batch,
    /// Rows (the batch's length).
    pub len: usize,
    /// The first row's position in the buffers (the batch's offset plus the column's).
    pub offset: usize,
    /// The validity bitmap (bit set = valid), or None when every value is valid.
    pub validity: Option<&'a [u8]>,
    /// The values buffer from its start (the first row is at `offset * width`).
    pub values: *const u8,
}

// SAFETY: the values are immutable memory of a batch, which is Send and Sync
unsafe impl Send for Column<'_> {}
unsafe impl Sync for Column<'_> {}

impl Batch {
    /// Column `k` of the batch, read as a primitive array (validity + values buffers);
    /// `checked_columns` is the number of columns the schema gave.
    pub fn primitive(&self, k: usize, checked_columns: usize) -> PyResult<Column<'_>> {
        let batch = &*self.0;
        let n_children = usize::try_from(batch.n_children).unwrap_or(usize::MAX);
        if n_children != checked_columns {
            return Err(invalid(format!(
                "a batch has {} columns, the schema {checked_columns}",
                batch.n_children
            )));
        }
        let (Ok(len), Ok(batch_offset)) = (usize::try_from(batch.length), usize::try_from(batch.offset))
        else {
            return Err(invalid("a batch has a negative length or offset".into()));
        };
        // SAFETY: the children and their buffers are valid while the batch is not released
        unsafe {
            let child = *batch.children.add(k);
            if child.is_null() {
                return Err(invalid(format!("column {k} of a batch is missing")));
            }
            let child = &*child;
            let Ok(child_offset) = usize::try_from(child.offset) else {
                return Err(invalid(format!("column {k} of a batch has a negative offset")));
            };
            let rows = batch_offset.checked_add(len).and_then(|r| i64::try_from(r).ok());
            if child.n_buffers != 2 || child.buffers.is_null() || rows.is_none_or(|r| child.length < r) {
                return Err(invalid(format!("column {k} of a batch is not a primitive array of its length")));
            }
            let offset = batch_offset
                .checked_add(child_offset)
                .ok_or_else(|| invalid(format!("column {k} has an offset beyond the address space")))?;
            let bitmap = *child.buffers;
            let values = (*child.buffers.add(1)).cast::<u8>();
            if values.is_null() && len > 0 {
                return Err(invalid(format!("column {k} of a batch has no values buffer")));
            }
            // a null count of 0 means no nulls; -1 (unknown) or more means read the bitmap
            let validity = (child.null_count != 0 && !bitmap.is_null())
                .then(|| std::slice::from_raw_parts(bitmap.cast::<u8>(), (offset + len).div_ceil(8)));
            Ok(Column { _batch: self, len, offset, validity, values })
        }
    }
}

/// Moves the struct out of a PyCapsule named `name` and marks the capsule's copy released.
///
/// SAFETY (caller): a capsule of that name holds a `T` for which `live` tells whether it is unreleased and `mark` marks it released.
unsafe fn take<T>(
    capsule: &Bound<'_, PyCapsule>,
    name: &CStr,
    live: impl Fn(&T) -> bool,
    mark: impl Fn(&mut T),
) -> PyResult<T> {
    let source = capsule.pointer_checked(Some(name))?.as_ptr().cast::<T>();
    if !live(&*source) {
        return Err(invalid(format!("the Arrow {} was already consumed", name.to_string_lossy())));
    }
    let value = ptr::read(source);
    mark(&mut *source);
    Ok(value)
}

impl Schema {
    /// Takes the schema out of an `arrow_schema` PyCapsule (`__arrow_c_array__`'s first).
    pub fn from_capsule(capsule: &Bound<'_, PyCapsule>) -> PyResult<Schema> {
        // SAFETY: a capsule named arrow_schema holds an ArrowSchema
        let schema = unsafe {
            take(capsule, c"arrow_schema", |s: &FfiSchema| s.release.is_some(), |s| s.release = None)?
        };
        Ok(Schema(Box::new(schema)))
    }
}

impl Batch {
    /// Takes the array out of an `arrow_array` PyCapsule (`__arrow_c_array__`'s second).
    pub fn from_capsule(capsule: &Bound<'_, PyCapsule>) -> PyResult<Batch> {
        // SAFETY: a capsule named arrow_array holds an ArrowArray
        let array = unsafe {
            take(capsule, c"arrow_array", |a: &FfiArray| a.release.is_some(), |a| a.release = None)?
        };
        Ok(Batch(Box::new(array)))
    }
}

/// A stream of record batches owned by this side; released on drop.
pub struct Stream(Box<FfiStream>);

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: moved out of its capsule, not released yet
            unsafe { release(&mut *self.0) };
        }
    }
}

impl Stream {
    /// Takes the stream out of an `arrow_array_stream` PyCapsule (the capsule's copy is marked
    /// released, so its destructor leaves it alone).
    pub fn from_capsule(capsule: &Bound<'_, PyCapsule>) -> PyResult<Stream> {
        // SAFETY: a capsule named arrow_array_stream holds an ArrowArrayStream
        let stream = unsafe {
            take(capsule, c"arrow_array_stream", |s: &FfiStream| s.release.is_some(), |s| s.release = None)?
        };
        Ok(Stream(Box::new(stream)))
    }

    fn error(&mut self, what: &str, code: c_int) -> PyErr {
        // SAFETY: get_last_error's string is valid until the next call on the stream
        let detail = unsafe {
            match self.0.get_last_error {
                Some(last) => {
                    let p = last(&mut *self.0);
                    if p.is_null() {
                        String::new()
                    } else {
                        format!(": {}", CStr::from_ptr(p).to_string_lossy())
                    }
                }
                None => String::new(),
            }
        };
        invalid(format!("the Arrow stream failed to give its {what} (error {code}){detail}"))
    }

    /// The stream's schema.
    pub fn schema(&mut self) -> PyResult<Schema> {
        let Some(get_schema) = self.0.get_schema else {
            return Err(invalid("the Arrow stream has no get_schema".into()));
        };
        let mut schema = Schema(Box::new(FfiSchema::EMPTY));
        // SAFETY: the stream is live; the callee fills `schema` (ours to release) on success
        let code = unsafe { get_schema(&mut *self.0, &mut *schema.0) };
        if code != 0 {
            return Err(self.error("schema", code));
        }
        Ok(schema)
    }

    /// The next record batch, or None at the end of the stream.
    pub fn next_batch(&mut self) -> PyResult<Option<Batch>> {
        let Some(get_next) = self.0.get_next else {
            return Err(invalid("the Arrow stream has no get_next".into()));
        };
        let mut batch = Batch(Box::new(FfiArray::EMPTY));
        // SAFETY: the stream is live; the callee fills `batch` (ours to release) on success
        let code = unsafe { get_next(&mut *self.0, &mut *batch.0) };
        if code != 0 {
            return Err(self.error("next batch", code));
        }
        // a released (release == NULL) array marks the end of the stream
        Ok(batch.0.release.is_some().then_some(batch))
    }
}

/// The values of one chunk copied into memory of this side, 8-byte aligned: for a chunk whose
/// buffer is misaligned for its type (numpy and the core need aligned values).
pub struct Realigned {
    words: Vec<u64>,
}

impl Realigned {
    /// The chunk's values (of `width` bytes each); `None` gives no values.
    pub fn new(piece: Option<&Column<'_>>, width: usize) -> Realigned {
        let Some(p) = piece else { return Realigned { words: Vec::new() } };
        let mut words = vec![0u64; (p.len * width).div_ceil(8)];
        // SAFETY: a Column's values buffer holds (offset + len) values of its width, live
        // while the batch it borrows is; `words` has room for them
        unsafe {
            ptr::copy_nonoverlapping(
                p.values.add(p.offset * width),
                words.as_mut_ptr().cast::<u8>(),
                p.len * width,
            )
        };
        Realigned { words }
    }

    /// The address of the first value.
    pub fn address(&self) -> usize {
        self.words.as_ptr() as usize
    }
}
