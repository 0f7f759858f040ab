// The entry point of the charts bundle (dist/bundle/charts.cjs, scripts/bundle.mjs):
// vega and vega-lite in one file, run from V8's code cache by chartLibraries.ts.
// Imported by nothing else: a static import would put vega into the CLI's bundle,
// which every command parses at its start.
export * as vega from 'vega';
export * as vegaLite from 'vega-lite';
