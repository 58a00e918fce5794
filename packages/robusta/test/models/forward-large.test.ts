// Forward passes of the big zoo models equal PyTorch's (see support/forward-check.ts): torchvision's
// ResNet-34 and RobustBench's WideResNet-28-10 and WideResNet-34-10, one 32×32 image per WRN (batch statistics over its 8×8 to 32×32 maps in train mode), two for ResNet-34 (1×1 at its last stage) (a WRN pass
// is ~5–7 GFLOP per 32×32 image; their weights, 36 M and 46 M parameters, travel through files).
import { type ForwardCase, forwardTests } from './support/forward-check.js';

const CASES: ForwardCase[] = [
  { name: 'resnet34', py: 'torchvision.models.resnet34(num_classes=10)', options: { numClasses: 10 }, input: [2, 3, 32, 32] },
  { name: 'wrn-28-10', py: 'WideResNet(28, 10, 10)', options: {}, input: [1, 3, 32, 32] },
  { name: 'wrn-34-10', py: 'WideResNet(34, 10, 10)', options: {}, input: [1, 3, 32, 32] },
];

forwardTests(CASES);
