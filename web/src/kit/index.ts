// The component kit later pages reuse: tables, form fields, status timelines, progress, states.
export { Async, useAsync, type AsyncState } from './async.tsx';
export { Badge, SensitivityBadge, type Tone } from './badge.tsx';
export { DataTable, type ColumnDef } from './data-table.tsx';
export { Field, SelectField, TextField } from './field.tsx';
export { Progress, Stepper } from './progress.tsx';
export { Empty, ErrorState, Loading } from './states.tsx';
export { StatusTimeline, type StepState, type TimelineStep } from './timeline.tsx';
export { TableDiagram, layoutTables, type DiagramTable } from './diagram.tsx';
export { ConfirmButton } from './confirm.tsx';
