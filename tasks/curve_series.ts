/**
 * The series of a task's learning curves: one per distinct model (roles that
 * hand back the same model, like task 2's `main` and `mlp`, are drawn once,
 * under both names), each in its task's colour, so that a model has the same
 * colour in every picture (task 1's net is blue in tasks 1, 2 and 3, task 2's
 * logistic regression orange, task 3's regularized net green, task 4's red).
 *
 * @module
 */
import type { CurveSeries } from "../models/pictures.ts";
import type { EpochRecord } from "../models/epoch_record.ts";

/** The colour of each task's own model, in every picture. */
export const TASK_COLOURS: Readonly<Record<number, string>> = {
  1: "#1f77b4",
  2: "#ff7f0e",
  3: "#2ca02c",
  4: "#d62728",
};

/** Colours of roles no task defines (a student's extra models), in order. */
const OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"];

/** Whose model each role of the lab's tasks is: the task whose colour it gets. */
const ROLE_OWNER: Readonly<Record<number, Readonly<Record<string, number>>>> = {
  1: { main: 1 },
  2: { main: 1, mlp: 1, logreg: 2 },
  3: { main: 3, baseline: 1 },
  4: { main: 4 },
};

/** The colour of `role` of task `task`, or undefined for a role no task defines. */
export function roleColour(task: number, role: string): string | undefined {
  const owner = ROLE_OWNER[task]?.[role];
  return owner === undefined ? undefined : TASK_COLOURS[owner];
}

/** One role's model as the pictures need it. */
export interface RoleCurves {
  /** Model name, e.g. `784-512-256-10 relu`. */
  name: string;
  /** Its per-epoch history. */
  history: EpochRecord[];
}

/**
 * The curve series of task `task`'s `models` (by role, in order): roles with
 * the same name and the same history are one series labelled
 * `main = mlp: <name>`; roles with no history are left out.
 */
export function taskCurveSeries(task: number, models: Record<string, RoleCurves>): CurveSeries[] {
  const groups: { roles: string[]; model: RoleCurves; key: string }[] = [];
  for (const [role, model] of Object.entries(models)) {
    if (model.history.length === 0) continue;
    const key = JSON.stringify([model.name, model.history]);
    const same = groups.find((g) => g.key === key);
    if (same) same.roles.push(role);
    else groups.push({ roles: [role], model, key });
  }
  let other = 0;
  return groups.map((g) => ({
    label: `${g.roles.join(" = ")}: ${g.model.name}`,
    history: g.model.history,
    colour: g.roles.map((r) => roleColour(task, r)).find((c) => c !== undefined) ??
      OTHER_COLOURS[other++ % OTHER_COLOURS.length],
  }));
}
