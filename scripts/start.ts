// `npm start`: see upMain in src/main.ts.
import { upMain } from '../src/main.ts';

await upMain();
