// robusta — adversarial robustness on libtorch. Each area lives in its own folder and is exported
// as a namespace: nn, optim, models, data, io, attacks, defenses, train, evaluation, measures.
export * as torch from '@robusta/torch';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as io from './io/index.js';
export * as attacks from './attacks/index.js';
export * as defenses from './defenses/index.js';
export * as train from './train/index.js';
export * as evaluation from './eval/index.js';
export * as measures from './measures/index.js';
export * as stats from './stats/index.js';
export * as report from './report/index.js';
export * as study from './study/index.js';
