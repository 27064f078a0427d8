// corpus.js: the reference comparison's documents as JSONL, one file a corpus.
//
//   node corpus.js DATA_DIR OUT_DIR
//
// Writes OUT_DIR/{brown,sotu,moby-dick,nlp-corpus,davidson}.jsonl, each line
// {"id": ..., "text": ...}, from the packages that pipelines/fetch-data.sh
// unpacked in DATA_DIR:
//   brown       each of the 500 Brown corpus files, as it is (tagged text)
//   sotu        each State of the Union address (data/*.txt)
//   moby-dick   each chapter's text (data/chapter_*.json)
//   nlp-corpus  each of the 100,000 documents (builds/doc-*.json)
//   davidson    each tweet of labeled_data.csv (column "tweet"), read by the
//               small RFC 4180 parser below, independent of ifg's.
'use strict';
const fs = require('fs');
const path = require('path');

function write(file, docs) {
	fs.writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
}

function files(dir, re) {
	return fs.readdirSync(dir).filter((f) => re.test(f)).sort();
}

// RFC 4180: fields separated by commas, records by CRLF or LF; a quoted
// field may hold commas, line breaks and doubled quotes.
function parseCsv(s) {
	const rows = [];
	let row = [], field = '', i = 0, quoted = false;
	while (i < s.length) {
		const c = s[i];
		if (quoted) {
			if (c === '"') {
				if (s[i + 1] === '"') { field += '"'; i += 2; continue; }
				quoted = false; i++; continue;
			}
			field += c; i++; continue;
		}
		if (c === '"' && field === '') { quoted = true; i++; continue; }
		if (c === ',') { row.push(field); field = ''; i++; continue; }
		if (c === '\r' && s[i + 1] === '\n') { i++; continue; }
		if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue; }
		field += c; i++;
	}
	if (field !== '' || row.length) { row.push(field); rows.push(row); }
	return rows;
}

const [data, out] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });

const brown = path.join(data, 'brown');
write(path.join(out, 'brown.jsonl'), files(brown, /^c[a-r]\d\d$/).map((f) =>
	({ id: f, text: fs.readFileSync(path.join(brown, f), 'utf8') })));

const sotu = path.join(data, 'sotu', 'data');
write(path.join(out, 'sotu.jsonl'), files(sotu, /\.txt$/).map((f) =>
	({ id: f, text: fs.readFileSync(path.join(sotu, f), 'utf8') })));

const moby = path.join(data, 'moby-dick', 'data');
write(path.join(out, 'moby-dick.jsonl'), files(moby, /^chapter_\d+\.json$/).map((f) =>
	({ id: f, text: JSON.parse(fs.readFileSync(path.join(moby, f), 'utf8')).text })));

const nlp = path.join(data, 'nlp-corpus', 'builds');
const nd = [];
for (const f of files(nlp, /^doc-\d+\.json$/))
	JSON.parse(fs.readFileSync(path.join(nlp, f), 'utf8')).forEach((t, i) =>
		nd.push({ id: `${f}:${i}`, text: t }));
write(path.join(out, 'nlp-corpus.jsonl'), nd);

const rows = parseCsv(fs.readFileSync(path.join(data, 'davidson', 'labeled_data.csv'), 'utf8'));
const col = rows[0].indexOf('tweet');
write(path.join(out, 'davidson.jsonl'), rows.slice(1).map((r) => ({ id: r[0], text: r[col] })));
