// Runs Spotify's reference Basic Pitch (the npm package's JavaScript on the tfjs CPU
// backend) on 22,050 Hz mono audio and writes its activations and notes as JSON, so
// kanade's libtorch port can be checked against it (tests/transcribe/fixtures/README.md).
//
// usage: node tools/basic-pitch-reference.mjs INPUT OUTPUT.json [--start S] [--seconds S]
//          [--write-f32 OUT.f32] [--activations-dir DIR]
//   INPUT: raw little-endian float32 mono at 22,050 Hz (.f32), or a 16-bit PCM WAV at
//          22,050 Hz (channels averaged to mono).
//   --write-f32 stores the (cut) input as raw float32; --activations-dir writes
//   frames.f32, onsets.f32 and contours.f32 (row-major, float32) there instead of into the JSON.
//   The package is found in $KANADE_BASIC_PITCH_DIR (the npm --prefix folder), else
//   $HOME/.local/share/kanade/basic-pitch, else /usr/local/share/kanade/basic-pitch.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const option = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return null;
    const value = args[i + 1];
    args.splice(i, 2);
    return value;
};
const writeF32 = option('--write-f32');
const seconds = option('--seconds');
const start = option('--start');
const activationsDir = option('--activations-dir');
if (args.length !== 2) {
    console.error('usage: node basic-pitch-reference.mjs INPUT OUTPUT.json [--write-f32 OUT.f32] [--seconds S]');
    process.exit(2);
}

const candidates = [process.env.KANADE_BASIC_PITCH_DIR,
    path.join(os.homedir(), '.local/share/kanade/basic-pitch'),
    '/usr/local/share/kanade/basic-pitch'].filter(Boolean);
const prefix = candidates.find((dir) => fs.existsSync(path.join(dir, 'node_modules/@spotify/basic-pitch')));
if (!prefix) {
    console.error(`@spotify/basic-pitch not found in ${candidates.join(', ')}; run tools/setup-debian.sh`);
    process.exit(1);
}
const require = createRequire(path.join(prefix, 'node_modules/'));
const tf = require('@tensorflow/tfjs');
const bp = require('@spotify/basic-pitch');

function readAudio(file) {
    const bytes = fs.readFileSync(file);
    if (bytes.toString('ascii', 0, 4) !== 'RIFF') {
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length - bytes.length % 4));
    }
    let offset = 12, channels = 0, rate = 0, bits = 0;
    while (offset + 8 <= bytes.length) {
        const id = bytes.toString('ascii', offset, offset + 4);
        const size = bytes.readUInt32LE(offset + 4);
        if (id === 'fmt ') {
            channels = bytes.readUInt16LE(offset + 10);
            rate = bytes.readUInt32LE(offset + 12);
            bits = bytes.readUInt16LE(offset + 22);
        } else if (id === 'data') {
            if (rate !== 22050 || bits !== 16) throw new Error(`${file}: need 16-bit 22050 Hz, got ${bits}-bit ${rate} Hz`);
            const frames = Math.floor(Math.min(size, bytes.length - offset - 8) / (2 * channels));
            const out = new Float32Array(frames);
            for (let i = 0; i < frames; ++i) {
                let sum = 0;
                for (let c = 0; c < channels; ++c) sum += bytes.readInt16LE(offset + 8 + 2 * (i * channels + c)) / 32768;
                out[i] = sum / channels;
            }
            return out;
        }
        offset += 8 + size + (size % 2);
    }
    throw new Error(`${file}: no data chunk`);
}

let audio = readAudio(args[0]);
const first = start ? Math.round(Number(start) * 22050) : 0;
audio = audio.slice(first, seconds ? first + Math.round(Number(seconds) * 22050) : audio.length);
if (writeF32) fs.writeFileSync(writeF32, Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength));

const modelDir = path.join(prefix, 'node_modules/@spotify/basic-pitch/model');
const modelJson = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
const group = modelJson.weightsManifest[0];
const weights = fs.readFileSync(path.join(modelDir, group.paths[0]));
const model = tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs: group.weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
}));

const frames = [], onsets = [], contours = [];
await new bp.BasicPitch(model).evaluateModel(audio, (f, o, c) => {
    frames.push(...f);
    onsets.push(...o);
    contours.push(...c);
}, () => {});

// The package's defaults as its README uses them: minimum note length 11 frames (~127.7 ms).
const events = bp.outputToNotesPoly(frames, onsets, 0.5, 0.3, 11, true, null, null, true, 11);
const notes = bp.noteFramesToTime(bp.addPitchBendsToNoteEvents(contours, events));
const round = (rows) => rows.map((row) => row.map((v) => Math.round(v * 1e6) / 1e6));
const activations = {};
if (activationsDir) {
    for (const [name, rows] of Object.entries({ frames, onsets, contours })) {
        const flat = Float32Array.from(rows.flat());
        fs.writeFileSync(path.join(activationsDir, `${name}.f32`), Buffer.from(flat.buffer));
        activations[`${name}_shape`] = [rows.length, rows.length ? rows[0].length : 0];
    }
} else {
    Object.assign(activations, { frames: round(frames), onsets: round(onsets), contours: round(contours) });
}
fs.writeFileSync(args[1], JSON.stringify({
    samples: audio.length,
    ...activations,
    note_events: events.map((e) => ({ start_frame: e.startFrame, duration_frames: e.durationFrames,
        pitch: e.pitchMidi, amplitude: e.amplitude })),
    notes,
}));
console.log(`${audio.length} samples, ${frames.length} frames, ${notes.length} notes -> ${args[1]}`);
