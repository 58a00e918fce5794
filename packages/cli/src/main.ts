#!/usr/bin/env node
// The robusta command line: robusta <command> [options]; robusta help <command>.
import { TorchError } from '@robusta/torch';
import { InputError, UsageError } from './args.js';
import * as attack from './commands/attack.js';
import * as attackList from './commands/attacks.js';
import * as evalCommand from './commands/eval.js';
import * as measure from './commands/measure.js';
import * as quickstart from './commands/quickstart.js';
import * as serve from './commands/serve.js';
import * as study from './commands/study.js';
import * as train from './commands/train.js';

interface Command {
  summary: string;
  usage: string;
  run: (argv: string[]) => void | Promise<void>;
}

const commands: Record<string, Command> = {
  quickstart: { summary: 'train the MNIST tutorial CNN and print its clean/FGSM/PGD accuracy', usage: quickstart.usage, run: quickstart.runQuickstart },
  train: { summary: 'adversarial training (standard, AT, TRADES, MART, Fast-AT, AWP), resumable', usage: train.usage, run: train.runTrain },
  eval: { summary: 'accuracy of a checkpoint under attacks (FGSM, PGD, AutoAttack or any attack), worst case, RobustBench layout', usage: evalCommand.usage, run: evalCommand.runEval },
  measure: { summary: 'robustness measures of a checkpoint (norms, margins, smoothness, flatness, thickness, gap)', usage: measure.usage, run: measure.runMeasure },
  study: { summary: 'a grid of trainings and robustness measures from one spec, resumable, with a report', usage: study.usage, run: study.runStudy },
  attack: { summary: 'attack one image with a zoo model and a PyTorch checkpoint (the pig demo)', usage: attack.usage, run: attack.runAttack },
  attacks: { summary: 'the attacks eval --attacks and attack --method accept, with parameters and defaults', usage: attackList.usage, run: attackList.runAttacks },
  serve: { summary: 'the dashboard: attack playground, training runs, study explorer (local web app)', usage: serve.usage, run: serve.runServe },
};

function help(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: robusta <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nrobusta help <command> shows a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  if (name === 'help') {
    const c = rest[0] ? commands[rest[0]] : undefined;
    console.log(c ? c.usage : help());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`robusta: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`robusta ${name}: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    if (e instanceof InputError) {
      console.error(`robusta ${name}: ${e.message}`);
      return 1;
    }
    const sys = e as NodeJS.ErrnoException;
    if (typeof sys.code === 'string' && typeof sys.syscall === 'string') {
      // File-system errors in the same words as the usage checks: the path and what is wrong with it.
      console.error(`robusta ${name}: ${systemErrorMessage(sys)}`);
      return 1;
    }
    const err = e as Error;
    const known = err instanceof TorchError || err instanceof RangeError || err instanceof TypeError || err.name.endsWith('Error');
    console.error(`robusta ${name}: ${known ? `${err.name}: ${err.message}` : String(err.stack ?? err)}`);
    return 1;
  }
}

function systemErrorMessage(e: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory', EEXIST: 'already exists', EISDIR: 'is a directory', ENOTDIR: 'not a directory',
    EACCES: 'permission denied', EPERM: 'operation not permitted', ENOSPC: 'no space left on the device',
  };
  const reason = reasons[e.code!] ?? e.message;
  return e.path ? `${e.path}: ${reason}` : reason;
}

// A command may set process.exitCode itself (e.g. failed study runs); main's code only overrides a success.
const code = await main(process.argv.slice(2));
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
