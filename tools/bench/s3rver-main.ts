// A real S3 HTTP server (s3rver, a devDependency) in its own process, so a
// test can kill it mid-request like a crashed server and the benchmark's
// figures do not include the server's memory:
//   node s3rver-main.js <dir> <port|0> <bucket>...
// Prints {"port":N} on stdout once it listens on 127.0.0.1.
import S3rver from 's3rver';

const [dir, port, ...buckets] = process.argv.slice(2);
if (!dir || port === undefined) {
  console.error('usage: s3rver-main <dir> <port> <bucket>...');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const addr = await server.run();
process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
