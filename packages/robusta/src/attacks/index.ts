// The attacks family: torchattacks-style adversarial attacks and dataset-level evaluation.
export type { Classifier } from './classifier.js';
export {
  Attack, type AttackMode, type AttackOptions, type AttackResult, type AttackStage, type AttackInput, type PerturbOutput,
  type TargetFunction, type AttackCapabilities, type RandomStreamState,
} from './attack.js';
export { type Norm, checkNumber } from './params.js';
export { FGSM, type FGSMOptions } from './fgsm.js';
export { BIM, type BIMOptions, kurakinSteps } from './bim.js';
export { PGD, type PGDOptions } from './pgd.js';
export { PGDL2, type PGDL2Options } from './pgdl2.js';
export { TPGD, type TPGDOptions } from './tpgd.js';
export { MIFGSM, type MIFGSMOptions } from './mifgsm.js';
export { CW, type CWOptions } from './cw.js';
export { DeepFool, type DeepFoolOptions } from './deepfool.js';
export { APGD, type APGDOptions, type ApgdLoss, type ApgdCheckpoint, apgdCheckpoints } from './apgd.js';
export { APGDT, type APGDTOptions } from './apgdt.js';
export { FAB, type FABOptions } from './fab.js';
export { projectOntoBoxedHyperplane } from './box-projection.js';
export { Square, type SquareOptions, squareFraction } from './square.js';
export { AutoAttack, type AutoAttackOptions } from './autoattack.js';
export { dlrLoss, targetedDlrLoss, margin } from './losses.js';
export {
  evaluateRobustness, formatResultTable, CheckpointMismatchError, type EvaluateOptions, type EvaluationProgress,
  type EvaluationResult,
} from './evaluate.js';
export { TutorialSGD, type TutorialSGDOptions } from './tutorial-sgd.js';
export { SPSA, type SPSAOptions } from './spsa.js';
export { EADL1, EADEN, ElasticNetAttack, type EADOptions, type EADDecisionRule } from './ead.js';
export { SparseFool, type SparseFoolOptions, linearSolver } from './sparsefool.js';
export { JSMA, type JSMAOptions } from './jsma.js';
export { differentialEvolution, type EvolutionOptions, type EvolutionResult } from './differential-evolution.js';
export { OnePixel, type OnePixelOptions } from './onepixel.js';
export { Pixle, type PixleOptions, type PixelMapping, type PatchSide } from './pixle.js';
export { MultiAttack, type MultiAttackOptions } from './multiattack.js';
export { LGV, type LGVOptions, type TrainableClassifier, type TrainBatches, type WeightSnapshot } from './lgv.js';
export { VANILA } from './vanila.js';
export { GN, type GNOptions } from './gn.js';
export { RFGSM, type RFGSMOptions } from './rfgsm.js';
export { FFGSM, type FFGSMOptions } from './ffgsm.js';
export { EOTPGD, type EOTPGDOptions } from './eotpgd.js';
export { UPGD, type UPGDOptions, type UPGDLossFunction } from './upgd.js';
export { PGDRS, type PGDRSOptions } from './pgdrs.js';
export { PGDRSL2, type PGDRSL2Options } from './pgdrsl2.js';
export { type SmoothingNoise, type SmoothingOptions } from './randomized-smoothing.js';
export { DIFGSM, type DIFGSMOptions } from './difgsm.js';
export { TIFGSM, type TIFGSMOptions } from './tifgsm.js';
export { smoothingKernel, type KernelName } from './smoothing-kernels.js';
export { NIFGSM, type NIFGSMOptions } from './nifgsm.js';
export { SINIFGSM, type SINIFGSMOptions } from './sinifgsm.js';
export { VMIFGSM, type VMIFGSMOptions } from './vmifgsm.js';
export { VNIFGSM, type VNIFGSMOptions } from './vnifgsm.js';
export { PIFGSM, type PIFGSMOptions } from './pifgsm.js';
export { PIFGSMPP, type PIFGSMPPOptions } from './pifgsmpp.js';
export { Jitter, type JitterOptions } from './jitter.js';
export { parseAttackSpecs, formatAttackSpec, AttackSpecError, type AttackSpec, type SpecArgument, type SpecValue } from './spec.js';
export {
  ATTACKS, createAttack, findAttack, readAttackSpec, attackDefaults, formatAttackList, formatDefault, snakeCase, normalizeName,
  parseNumberText, type AttackEntry, type ParamSpec, type ParamKind, type ThreatModel, type AttackContext, type AttackServices,
} from './registry.js';
