/** Any failure to read or write the age format: always one line, never a key. */
export class AgeError extends Error {
  constructor(message: string) {
    super(`age: ${message.replace(/\s*\n\s*/g, ' ')}`);
    this.name = 'AgeError';
  }
}
