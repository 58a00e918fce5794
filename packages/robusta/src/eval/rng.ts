// Evaluations inside training must not move torch's random stream: otherwise changing how often or
// on how many examples one evaluates would change the training run itself (and break exact resume).
import * as torch from '@robusta/torch';
import type { Device } from '@robusta/torch';

/** Runs fn and puts torch's CPU generator (and the CUDA one of `device`, if any) back as it was. */
export function withRngPreserved<T>(fn: () => T, device: Device = 'cpu'): T {
  const cpu = torch.keep(torch.getRngState('cpu'));
  const cuda = device.startsWith('cuda') ? torch.keep(torch.getRngState(device)) : null;
  try {
    return fn();
  } finally {
    torch.setRngState(cpu, 'cpu');
    cpu.dispose();
    if (cuda) {
      torch.setRngState(cuda, device);
      cuda.dispose();
    }
  }
}
