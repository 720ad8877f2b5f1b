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
  /** Said by screen readers after the label (how to run, complete and leave). */
  readonly description?: string;
  readonly placeholder: string;
  readonly onChange: (text: string) => void;
  readonly onRun: () => void;
}

/** The editor's look, inside its shadow root (the portal's stylesheet does not reach there). */
const theme = EditorView.theme({
  '&': { minHeight: '9rem', maxHeight: '24rem', border: '1px solid #cfd6de', borderRadius: '8px', backgroundColor: '#fff', fontSize: '0.92rem' },
  '&.cm-focused': { outline: '3px solid #8fb3e0', outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', minHeight: '9rem' },
  '.cm-gutters': { backgroundColor: '#f3f5f8', borderRight: '1px solid #cfd6de', borderRadius: '8px 0 0 8px' },
  // CodeMirror's grey placeholder (#888 on white, 3.5:1) is below WCAG AA's 4.5:1: the portal's muted text colour (7:1)
  '.cm-placeholder': { color: '#4f5b66' },
  // The completion list is never a scrolling box (WCAG 2.1.1: a scrolling region must be reachable
  // by keyboard, and focus stays in the editor): it shows at most COMPLETIONS_SHOWN options, and
  // the arrow keys move the window CodeMirror renders through all of them.
  '.cm-tooltip.cm-tooltip-autocomplete > ul': { maxHeight: 'none' },
});

/** Completion options rendered at once (the list grows to fit them; arrows page through the rest). */
const COMPLETIONS_SHOWN = 8;

/**
 * Typing over a selection is applied here rather than by the browser: Chromium's own
 * contenteditable replacement keeps the first character's look with an inline `style`
 * attribute, which the portal's CSP refuses (and reports as an error).
 */
const replaceSelectionTyping = EditorView.domEventHandlers({
  beforeinput(e, view) {
    if (e.inputType !== 'insertText' || e.data === null || view.state.selection.ranges.every((r) => r.empty)) return false;
    e.preventDefault();
    view.dispatch(view.state.replaceSelection(e.data), { userEvent: 'input.type', scrollIntoView: true });
    return true;
  },
});

function language(tables: readonly SchemaTable[]) {
  // DuckDB's SQL is close to PostgreSQL's; the dialect only drives highlighting and keywords.
  return sql({ dialect: PostgreSQL, schema: completionSchema(tables), upperCaseKeywords: true });
}

export const SqlEditor = forwardRef<SqlEditorHandle, Props>(function SqlEditor({ initial, tables, label, description, placeholder, onChange, onRun }, ref) {
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
    // CodeMirror styles itself with a <style> element in a document, which the portal's CSP
    // (style-src 'self') refuses; inside a shadow root it uses a constructed stylesheet instead.
    const shadow = host.current.shadowRoot ?? host.current.attachShadow({ mode: 'open' });
    const parent = document.createElement('div');
    shadow.replaceChildren(parent);
    const run = (): boolean => {
      onRunRef.current();
      return true;
    };
    const v = new EditorView({
      root: shadow,
      parent,
      state: EditorState.create({
        doc: initial,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          closeBrackets(),
          highlightActiveLine(),
          autocompletion({ activateOnTyping: true, maxRenderedOptions: COMPLETIONS_SHOWN }),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          Prec.highest(keymap.of([{ key: 'Mod-Enter', run, preventDefault: true }])),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          lang.current.of(language(tables)),
          cmPlaceholder(placeholder),
          EditorView.lineWrapping,
          theme,
          replaceSelectionTyping,
          // aria-describedby cannot point out of the shadow root: the hint is given as a description.
          EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true', 'data-testid': 'sql-editor', ...(description === undefined ? {} : { 'aria-description': description }) }),
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
