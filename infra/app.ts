import { createApp } from './create-app';

// `cdk synth` runs this file (cdk.json); the CLI collects the synthesized assembly.
createApp().app.synth();
