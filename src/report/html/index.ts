// The HTML change record: render a RunReport to one self-contained page (report.html).
export { renderHtmlReport, writeHtmlReport } from './render.js';
export { buildModel, type ReportModel, type ApplianceView, type CensusView } from './model.js';
export { esc } from './escape.js';
