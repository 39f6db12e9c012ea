/**
 * What every form field needs, provided by the experiment form: read a field, write it, its default,
 * its issues; and which fields are on screen, so issues no field shows are listed above the form.
 */
import { inject, provide, reactive, type InjectionKey } from 'vue';
import type { FieldIssue } from '../../../../common/config';
import { defaultAt, getPath, issuesUnder } from '../../lib/config';
import { useExperiment } from '../../stores/experiment';

export interface FormContext {
  get(path: string): unknown;
  set(path: string, value: unknown): void;
  placeholder(path: string): unknown;
  issues(path: string, exact?: boolean): FieldIssue[];
  /** Paths of the fields currently shown (a field registers itself while mounted). */
  shown: Set<string>;
}

const KEY: InjectionKey<FormContext> = Symbol('form');

export function provideForm(): FormContext {
  const exp = useExperiment();
  const ctx: FormContext = {
    get: (p) => getPath(exp.config, p),
    set: (p, v) => exp.set(p, v),
    placeholder: (p) => defaultAt(exp.config, p),
    issues: (p, exact = true) => issuesUnder(exp.issues, p, exact),
    shown: reactive(new Set<string>()),
  };
  provide(KEY, ctx);
  return ctx;
}

export function useForm(): FormContext {
  const ctx = inject(KEY);
  if (!ctx) throw new Error('form field outside an experiment form');
  return ctx;
}
