//! `results.parquet`: the merged results table as Apache Parquet, for pandas,
//! polars, DuckDB and Spark users, written with the `parquet` crate's file API
//! (no arrow).
//!
//! Shape: one row per run, one column per results.csv column, in the same order.
//! Each column's physical type follows its values: all integers → INT64, any
//! other number → DOUBLE, booleans → BOOLEAN, anything else (text, a series) →
//! BYTE_ARRAY with the String logical type, a series as in the CSV (`;`-joined).
//! Every column is OPTIONAL: a missing value (JSON null) is a Parquet null.
//! One row group, uncompressed: deterministic bytes for the same runs, so merges
//! of the same sweep compare byte for byte.

use std::sync::Arc;

use anyhow::{Context, Result};
use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde_json::Value;

type Row = Vec<(String, Value)>;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Double,
    Bool,
    Text,
}

fn kind<'a>(values: impl Iterator<Item = &'a Value> + Clone) -> Kind {
    let present = values.filter(|v| !v.is_null());
    if present.clone().all(|v| v.is_i64() || (v.is_u64() && v.as_i64().is_some())) {
        Kind::Int
    } else if present.clone().all(Value::is_number) {
        Kind::Double
    } else if present.clone().all(Value::is_boolean) {
        Kind::Bool
    } else {
        Kind::Text
    }
}

/// The table's bytes. `cell` renders a value as results.csv does (text columns).
pub fn bytes(rows: &[Row], cell: impl Fn(&Value) -> String) -> Result<Vec<u8>> {
    let names: Vec<&str> = rows.first().map(|r| r.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
    let column = |c: usize| rows.iter().map(move |r| &r[c].1);
    let kinds: Vec<Kind> = (0..names.len()).map(|c| kind(column(c))).collect();
    let mut fields = Vec::with_capacity(names.len());
    for (name, k) in names.iter().zip(&kinds) {
        let (physical, logical) = match k {
            Kind::Int => (Physical::INT64, None),
            Kind::Double => (Physical::DOUBLE, None),
            Kind::Bool => (Physical::BOOLEAN, None),
            Kind::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
        };
        let t = Type::primitive_type_builder(name, physical)
            .with_repetition(Repetition::OPTIONAL)
            .with_logical_type(logical)
            .build()
            .with_context(|| format!("results.parquet: column {name}"))?;
        fields.push(Arc::new(t));
    }
    let schema = Arc::new(Type::group_type_builder("mmsoak_sweep_results").with_fields(fields).build()?);
    let props = Arc::new(WriterProperties::builder().set_created_by("mmsoak".to_string()).build());
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, props)?;
    let mut group = writer.next_row_group()?;
    let mut c = 0;
    while let Some(mut col) = group.next_column()? {
        let values: Vec<&Value> = column(c).filter(|v| !v.is_null()).collect();
        let levels: Vec<i16> = column(c).map(|v| i16::from(!v.is_null())).collect();
        match col.untyped() {
            ColumnWriter::Int64ColumnWriter(w) => {
                let xs: Vec<i64> = values.iter().map(|v| v.as_i64().unwrap_or_default()).collect();
                w.write_batch(&xs, Some(&levels), None)?;
            }
            ColumnWriter::DoubleColumnWriter(w) => {
                let xs: Vec<f64> = values.iter().map(|v| v.as_f64().unwrap_or_default()).collect();
                w.write_batch(&xs, Some(&levels), None)?;
            }
            ColumnWriter::BoolColumnWriter(w) => {
                let xs: Vec<bool> = values.iter().map(|v| v.as_bool().unwrap_or_default()).collect();
                w.write_batch(&xs, Some(&levels), None)?;
            }
            ColumnWriter::ByteArrayColumnWriter(w) => {
                let xs: Vec<ByteArray> = values.iter().map(|v| ByteArray::from(cell(v).into_bytes())).collect();
                w.write_batch(&xs, Some(&levels), None)?;
            }
            _ => anyhow::bail!("results.parquet: unexpected column type for {}", names[c]),
        }
        col.close()?;
        c += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(out)
}
