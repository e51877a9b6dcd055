//! The safety net of every record bgmm writes: serde_json writes a NaN or an infinity as
//! `null`, which no reader of a number takes back. [`first_non_finite`] walks a value as it
//! would be serialised and names the field path of the first float that is not finite, so
//! that [`crate::json_bytes`] can refuse it instead of writing a file that cannot be read.
//!
//! Values that are undefined on purpose do not reach this check as floats: they are written
//! as what they are (`"NaN"`, `"inf"`, `"-inf"` through `bgmm`'s float format, or `null` for a
//! statistic a method does not have, as the record types document).

use std::fmt;

use serde::ser::{self, Serialize};

/// The walk stops at the first non-finite float: its path and value.
#[derive(Debug)]
pub(crate) struct Found(String);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Found(msg.to_string())
    }
}

/// The path (`history.grad_norm.locs[3]`) and value of the first float in `v` that is not
/// finite, as `v` would be serialised; `None` when every float is finite.
pub(crate) fn first_non_finite<T: Serialize + ?Sized>(v: &T) -> Option<String> {
    let mut path = Vec::new();
    match v.serialize(Walk { path: &mut path }) {
        Ok(()) => None,
        Err(Found(why)) => Some(why),
    }
}

/// One step of a path: a field or map key, or an index.
enum Step {
    Key(String),
    Index(usize),
}

fn shown(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() {
        s.push_str("(the value itself)");
    }
    s
}

struct Walk<'a> {
    path: &'a mut Vec<Step>,
}

/// A compound value being walked: its path, and the index of its next element.
struct Compound<'a> {
    path: &'a mut Vec<Step>,
    next: usize,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.path.push(Step::Index(self.next));
        self.next += 1;
        let r = v.serialize(Walk { path: self.path });
        self.path.pop();
        r
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<(), Found> {
        self.path.push(Step::Key(key));
        let r = v.serialize(Walk { path: self.path });
        self.path.pop();
        r
    }
}

/// A map key as text (a string, a number, …); `?` for anything else.
fn key_text<T: Serialize + ?Sized>(key: &T) -> String {
    match serde_json::to_value(key) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => "?".into(),
    }
}

impl<'a> ser::Serializer for Walk<'a> {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_f64(self, v: f64) -> Result<(), Found> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(Found(format!("{} is {v}", shown(self.path))))
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Found> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_bool(self, _: bool) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.path.push(Step::Key(variant.into()));
        let r = v.serialize(Walk { path: self.path });
        self.path.pop();
        r
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Found> {
        Ok(Compound {
            path: self.path,
            next: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Found> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Found> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Found> {
        self.path.push(Step::Key(variant.into()));
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, Found> {
        self.serialize_seq(len)
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Found> {
        self.serialize_seq(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Found> {
        self.serialize_tuple_variant("", 0, variant, len)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.element(v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.element(v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.element(v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.element(v)
    }
    fn end(self) -> Result<(), Found> {
        self.path.pop();
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Found> {
        self.path.push(Step::Key(key_text(key)));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        let r = v.serialize(Walk { path: self.path });
        self.path.pop();
        r
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.field(key.into(), v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.field(key.into(), v)
    }
    fn end(self) -> Result<(), Found> {
        self.path.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Inner {
        ok: f64,
        v: Vec<f64>,
    }

    #[derive(Serialize)]
    struct Outer {
        name: String,
        inner: Inner,
        map: BTreeMap<String, Vec<(usize, f64)>>,
        opt: Option<f64>,
    }

    fn outer() -> Outer {
        Outer {
            name: "x".into(),
            inner: Inner {
                ok: 1.0,
                v: vec![1.0, 2.0, 3.0],
            },
            map: BTreeMap::from([("a b".to_string(), vec![(0, 1.0), (1, 2.0)])]),
            opt: Some(1e300),
        }
    }

    #[test]
    fn names_the_path_of_the_first_non_finite_float() {
        assert_eq!(first_non_finite(&outer()), None);
        let mut o = outer();
        o.inner.v[2] = f64::NAN;
        assert_eq!(first_non_finite(&o).unwrap(), "inner.v[2] is NaN");
        let mut o = outer();
        o.map.get_mut("a b").unwrap()[1].1 = f64::NEG_INFINITY;
        assert_eq!(first_non_finite(&o).unwrap(), "map.a b[1][1] is -inf");
        let mut o = outer();
        o.opt = Some(f64::INFINITY);
        assert_eq!(first_non_finite(&o).unwrap(), "opt is inf");
        assert_eq!(
            first_non_finite(&f64::NAN).unwrap(),
            "(the value itself) is NaN"
        );
        // a value that is absent on purpose (None, a documented string) passes
        let mut o = outer();
        o.opt = None;
        assert_eq!(first_non_finite(&o), None);
        assert_eq!(first_non_finite(&serde_json::json!({"a": null})), None);
    }
}
