/**
 * The SQL editor: CodeMirror 6 with SQL highlighting and completion of the workspace's tables
 * and columns (lang-sql's `schema` option). Ctrl/Cmd+Enter runs; Tab is left to the browser so
 * keyboard users move in and out of the editor as with any field (no focus trap, WCAG 2.1.2).
 */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { PostgreSQL, sql } from '@codemirror/lang-sql';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers, placeholder as cmPlaceholder } from '@codemirror/view';
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';
import type { SchemaTable } from '../workspace-api.ts';
import { completionSchema } from '../workspace-api.ts';

export interface SqlEditorHandle {
  /** Replaces the whole text (a query loaded from the history or the saved queries). */
  setValue(text: string): void;
  focus(): void;
}

interface Props {
  readonly initial: string;
  readonly tables: readonly SchemaTable[];
  readonly label: string;
  readonly describedBy?: string;
  readonly placeholder: string;
  readonly onChange: (text: string) => void;
  readonly onRun: () => void;
}

function language(tables: readonly SchemaTable[]) {
  const { schema, defaultSchema } = completionSchema(tables);
  // DuckDB's SQL is close to PostgreSQL's; the dialect only drives highlighting and keywords.
  return sql({ dialect: PostgreSQL, schema, defaultSchema, upperCaseKeywords: true });
}

export const SqlEditor = forwardRef<SqlEditorHandle, Props>(function SqlEditor({ initial, tables, label, describedBy, placeholder, onChange, onRun }, ref) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const lang = useRef(new Compartment());
  // The callbacks change on every render: the editor reads the latest through refs.
  const onRunRef = useRef(onRun);
  const onChangeRef = useRef(onChange);
  onRunRef.current = onRun;
  onChangeRef.current = onChange;

  useEffect(() => {
    if (host.current === null) return undefined;
    const run = (): boolean => {
      onRunRef.current();
      return true;
    };
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          closeBrackets(),
          highlightActiveLine(),
          autocompletion({ activateOnTyping: true }),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          Prec.highest(keymap.of([{ key: 'Mod-Enter', run, preventDefault: true }])),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          lang.current.of(language(tables)),
          cmPlaceholder(placeholder),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true', 'data-testid': 'sql-editor', ...(describedBy === undefined ? {} : { 'aria-describedby': describedBy }) }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is created once; tables and labels are reconfigured below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: lang.current.reconfigure(language(tables)) });
  }, [tables]);

  useImperativeHandle(ref, () => ({
    setValue(text: string) {
      const v = view.current;
      if (v === null) return;
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text }, selection: { anchor: text.length } });
    },
    focus() {
      view.current?.focus();
    },
  }), []);

  return <div ref={host} className="sql-editor" />;
});
