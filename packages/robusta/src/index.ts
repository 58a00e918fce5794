// robusta — adversarial robustness on libtorch. Each area lives in its own folder.
export * as torch from '@robusta/torch';
