// `npm run image`: builds the controller's image, tagged with package.json's version, with Docker
// or, where there is none, podman on an offline Debian base (harness/image.ts).
import { ensureImage, imageSize } from '../harness/image.ts';

try {
  const { engine, image } = await ensureImage({ force: true });
  const size = await imageSize(engine, image);
  console.log(`${image} built with ${engine.name}: ${(size / 1e6).toFixed(0)} MB`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
