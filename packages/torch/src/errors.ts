/** An error raised by libtorch (shape, dtype, device, range ...) or by use of a disposed tensor. */
export class TorchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchError';
  }
}
