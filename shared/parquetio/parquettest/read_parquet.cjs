// Reads Parquet files with DuckDB and prints, for each file, its columns
// (name and DuckDB type) and its rows as JSON. Every value is printed as a
// string in a form that loses nothing: integers and decimals as text,
// floats as their shortest round-trip text, dates as days since
// 1970-01-01, timestamps as epoch microseconds, blobs as hex, NULL as null.
//
// Usage: node read_parquet.cjs FILE...   (needs @duckdb/node-api on NODE_PATH)
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

function ident(name) {
  return '"' + name.replaceAll('"', '""') + '"';
}

function literal(s) {
  return "'" + s.replaceAll("'", "''") + "'";
}

function render(col, type) {
  const c = ident(col);
  if (type === 'BLOB') return `hex(${c})`;
  if (type === 'DATE') return `CAST(${c} - DATE '1970-01-01' AS VARCHAR)`;
  if (type.startsWith('TIMESTAMP')) return `CAST(epoch_us(${c}) AS VARCHAR)`;
  return `CAST(${c} AS VARCHAR)`;
}

async function main() {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  const out = [];
  for (const file of process.argv.slice(2)) {
    const src = `read_parquet(${literal(file)})`;
    const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
    const columns = desc.getRows().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
    const select = columns.map((c) => render(c.name, c.type)).join(', ');
    const res = await conn.runAndReadAll(`SELECT ${select} FROM ${src}`);
    const rows = res.getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
    out.push({ file, columns, rows });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
