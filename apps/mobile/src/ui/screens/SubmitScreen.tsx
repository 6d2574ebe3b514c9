import { useState } from 'react';
import { ScrollView, Text, TextInput } from 'react-native';
import type { PairingLink, Price } from '../../net/index.js';
import { Button } from '../components.js';
import { styles } from '../theme.js';

export interface SubmitRequest {
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  priceCap?: Price;
}

/** The grant's price cap ("0.05 USDC per 1k_tokens") as the job's price cap: the node refuses a job without one. */
export function priceCapOf(link: PairingLink | null): Price | undefined {
  const match = /^(\S+) (\S+) per (job|1k_tokens)$/.exec(link?.grant?.priceCap ?? '');
  return match ? { amount: match[1]!, currency: match[2]!, per: match[3] as Price['per'] } : undefined;
}

/** Checks the form against the grant before anything is sent: the node would refuse the same, less kindly. */
export function validateSubmission(form: { model: string; prompt: string; maxTokens: string; temperature: string }, link: PairingLink | null): SubmitRequest | string {
  const model = form.model.trim();
  if (!model) return 'Choose a model.';
  if (!form.prompt.trim()) return 'Write a prompt.';
  const maxTokens = Number(form.maxTokens);
  if (!Number.isInteger(maxTokens) || maxTokens < 1) return 'Max tokens must be a whole number above 0.';
  const temperature = Number(form.temperature);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 2) return 'Temperature must be between 0 and 2.';
  const grant = link?.grant;
  if (grant && maxTokens > grant.maxTokens) return `This phone may ask for at most ${grant.maxTokens} tokens.`;
  if (grant?.models.length && !grant.models.includes(model)) return `This phone may use ${grant.models.join(', ')}.`;
  const priceCap = priceCapOf(link);
  return { model, prompt: form.prompt, maxTokens, temperature, ...(priceCap ? { priceCap } : {}) };
}

export function SubmitScreen({ link, connected, onSubmit }: { link: PairingLink | null; connected: boolean; onSubmit: (request: SubmitRequest) => void }) {
  const grant = link?.grant;
  const [model, setModel] = useState(grant?.models[0] ?? 'stories260K');
  const [prompt, setPrompt] = useState('');
  const [maxTokens, setMaxTokens] = useState(String(Math.min(64, grant?.maxTokens ?? 64)));
  const [temperature, setTemperature] = useState('0');
  const [error, setError] = useState('');

  const submit = () => {
    const checked = validateSubmission({ model, prompt, maxTokens, temperature }, link);
    if (typeof checked === 'string') return setError(checked);
    setError('');
    try {
      onSubmit(checked);
      setPrompt('');
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <ScrollView style={styles.screen} testID="submit-screen" keyboardShouldPersistTaps="handled">
      <Text style={styles.title}>Submit a job</Text>
      <Text style={styles.label}>Model</Text>
      <TextInput testID="submit-model" style={styles.input} value={model} onChangeText={setModel} autoCapitalize="none" autoCorrect={false} />
      <Text style={styles.label}>Prompt</Text>
      <TextInput testID="submit-prompt" style={[styles.input, { minHeight: 90, textAlignVertical: 'top' }]} value={prompt} onChangeText={setPrompt} multiline placeholder="Once upon a time" placeholderTextColor="#666" />
      <Text style={styles.label}>Max tokens</Text>
      <TextInput testID="submit-max-tokens" style={styles.input} value={maxTokens} onChangeText={setMaxTokens} keyboardType="number-pad" />
      <Text style={styles.label}>Temperature</Text>
      <TextInput testID="submit-temperature" style={styles.input} value={temperature} onChangeText={setTemperature} keyboardType="decimal-pad" />
      {grant ? (
        <Text testID="submit-limits" style={styles.muted}>
          Grant limits: {grant.models.length ? grant.models.join(', ') : 'any model'}, up to {grant.maxTokens} tokens, {grant.jobsPerHour} jobs per hour
          {grant.priceCap ? `, at most ${grant.priceCap}` : ''}, until {new Date(grant.expiresAt).toISOString().slice(0, 10)}.
        </Text>
      ) : null}
      {error ? (
        <Text testID="submit-error" style={styles.error}>
          {error}
        </Text>
      ) : null}
      <Button testID="submit-button" title={connected ? 'Submit' : 'Not connected'} disabled={!connected} onPress={submit} />
    </ScrollView>
  );
}
